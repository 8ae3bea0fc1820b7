// Ordinary least squares through a QR decomposition with Eigen.
// Written for the proofpile samples.
#include <Eigen/Dense>
#include <iostream>

Eigen::VectorXd least_squares(const Eigen::MatrixXd& A, const Eigen::VectorXd& b)
{
    // Householder QR with column pivoting is robust for rank-deficient A.
    return A.colPivHouseholderQr().solve(b);
}

int main()
{
    Eigen::MatrixXd A(4, 2);
    A << 1, 0,
         1, 1,
         1, 2,
         1, 3;
    Eigen::VectorXd b(4);
    b << 1, 3, 5, 7;
    Eigen::VectorXd x = least_squares(A, b);
    std::cout << "intercept " << x(0) << ", slope " << x(1) << "\n";
    std::cout << "residual norm " << (A * x - b).norm() << "\n";
    return 0;
}
