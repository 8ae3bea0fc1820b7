-- | Ridge regression with hmatrix.
-- Written for the proofpile samples.
module Regression (ridge, predict) where

import Numeric.LinearAlgebra

-- | Solve (X^T X + lambda I) w = X^T y.
ridge :: Double -> Matrix Double -> Vector Double -> Vector Double
ridge lambda x y = (tr x <> x + scalar lambda * ident n) <\> (tr x #> y)
  where
    n = cols x

predict :: Matrix Double -> Vector Double -> Vector Double
predict x w = x #> w
