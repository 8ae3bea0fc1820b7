function x = jacobi_iter(A, b, sweeps)
%JACOBI_ITER A fixed number of Jacobi sweeps for A*x = b.
%   The matrix must have a nonzero diagonal; convergence is guaranteed
%   when A is strictly diagonally dominant.
%   Written for the proofpile samples.

d = diag(A);
R = A - diag(d);
x = zeros(size(b));
for s = 1:sweeps
    x = (b - R * x) ./ d;
end
end
