-- | Power iteration for the dominant eigenvalue of a symmetric matrix.
-- Written for the proofpile samples.
module Spectral (powerIteration) where

import Numeric.LinearAlgebra

powerIteration :: Int -> Matrix Double -> (Double, Vector Double)
powerIteration steps a = go steps (konst 1 (rows a))
  where
    go 0 v = (v <.> (a #> v), v)
    go k v = let w = a #> v in go (k - 1) (scale (1 / norm_2 w) w)
