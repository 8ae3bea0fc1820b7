function [x, iters] = conjugate_gradient(A, b, tol, maxit)
%CONJUGATE_GRADIENT Solve A*x = b for symmetric positive definite A.
%   [x, iters] = conjugate_gradient(A, b, tol, maxit) runs the conjugate
%   gradient method from a zero start until the residual norm drops
%   below tol or maxit iterations have been made.
%   Written for the proofpile samples.

if nargin < 3, tol = 1e-10; end
if nargin < 4, maxit = numel(b); end

x = zeros(size(b));
r = b - A * x;
p = r;
rs_old = r' * r;
iters = 0;
for k = 1:maxit
    Ap = A * p;
    alpha = rs_old / (p' * Ap);
    x = x + alpha * p;
    r = r - alpha * Ap;
    rs_new = r' * r;
    iters = k;
    if sqrt(rs_new) < tol
        break;
    end
    p = r + (rs_new / rs_old) * p;
    rs_old = rs_new;
end
end
