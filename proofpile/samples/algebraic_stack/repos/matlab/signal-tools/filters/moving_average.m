function y = moving_average(x, w)
%MOVING_AVERAGE Centered moving average with a window of w samples.
%   Edges are handled by averaging over the samples that exist.
%   Written for the proofpile samples.

n = numel(x);
y = zeros(size(x));
h = floor(w / 2);
for i = 1:n
    lo = max(1, i - h);
    hi = min(n, i + h);
    y(i) = mean(x(lo:hi));
end
end
