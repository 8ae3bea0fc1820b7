function n = vecnorm2(v)
%VECNORM2 Euclidean norm of a vector, guarded against overflow.
%   Scales by the largest magnitude before squaring, so very large
%   entries do not overflow to Inf.
%   Written for the proofpile samples.

s = max(abs(v(:)));
if s == 0
    n = 0;
    return;
end
w = v(:) / s;
n = s * sqrt(sum(w .^ 2));
end
