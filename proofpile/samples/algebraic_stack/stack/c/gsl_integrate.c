/* Adaptive quadrature of exp(-x^2) on [0, 1] with GSL.
   Written for the proofpile samples. */
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdio.h>

static double gaussian(double x, void *params)
{
    (void)params;
    return exp(-x * x);
}

int main(void)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_function f = {.function = &gaussian, .params = NULL};
    double result, error;
    gsl_integration_qags(&f, 0.0, 1.0, 0.0, 1e-9, 1000, w, &result, &error);
    printf("integral = %.12f (+/- %.2e)\n", result, error);
    gsl_integration_workspace_free(w);
    return 0;
}
