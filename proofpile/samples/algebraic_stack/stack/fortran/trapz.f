C     Composite trapezoidal rule for a tabulated function.
C     Written for the proofpile samples.
      DOUBLE PRECISION FUNCTION TRAPZ(N, H, Y)
      INTEGER N, I
      DOUBLE PRECISION H, Y(N), S
      S = 0.5D0 * (Y(1) + Y(N))
      DO 10 I = 2, N - 1
         S = S + Y(I)
   10 CONTINUE
      TRAPZ = H * S
      RETURN
      END
