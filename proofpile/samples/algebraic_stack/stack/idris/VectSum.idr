-- Length-indexed vectors and a total sum over them.
-- Written for the proofpile samples.
module VectSum

import Data.Vect

vsum : Num a => Vect n a -> a
vsum [] = 0
vsum (x :: xs) = x + vsum xs

appendLength : (xs : Vect n a) -> (ys : Vect m a) -> length (xs ++ ys) = n + m
appendLength xs ys = Refl
