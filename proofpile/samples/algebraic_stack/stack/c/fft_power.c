/* Power spectrum of a real signal with FFTW.
   Written for the proofpile samples. */
#include <fftw3.h>
#include <math.h>

void power_spectrum(const double *signal, double *power, int n)
{
    fftw_complex *out = fftw_malloc(sizeof(fftw_complex) * (n / 2 + 1));
    double *in = fftw_malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++)
        in[i] = signal[i];
    fftw_plan plan = fftw_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    fftw_execute(plan);
    for (int k = 0; k <= n / 2; k++)
        power[k] = (out[k][0] * out[k][0] + out[k][1] * out[k][1]) / n;
    fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
}
