! Explicit finite differences for the 1-D heat equation u_t = u_xx.
! Written for the proofpile samples.
program heat1d
  implicit none
  integer, parameter :: n = 51, steps = 200
  real(8), parameter :: dx = 1.0d0 / (n - 1), dt = 0.4d0 * dx * dx
  real(8) :: u(n), unew(n)
  integer :: i, k

  do i = 1, n
    u(i) = sin(3.141592653589793d0 * (i - 1) * dx)
  end do
  do k = 1, steps
    unew(2:n-1) = u(2:n-1) + dt / dx**2 * (u(3:n) - 2 * u(2:n-1) + u(1:n-2))
    unew(1) = 0.0d0
    unew(n) = 0.0d0
    u = unew
  end do
  print '(a, f10.6)', 'max u = ', maxval(u)
end program heat1d
