/* Plain C saved with a .m extension by mistake.
   Part of a sample repository. */
#include <stdio.h>

int main(void) {
    double sum = 0.0;
    for (int i = 1; i <= 10; i++) {
        sum += 1.0 / i;
    }
    printf("%f\n", sum);
    return 0;
}
