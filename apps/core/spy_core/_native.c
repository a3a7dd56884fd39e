/* spy_core._native: the pricing kernels (erfcx, Black-76 prices, implied vol), compiled when
 * the package is installed. The algorithms and their documentation are in spy_core/pricing.py
 * and spy_core/special.py; this file follows them operation for operation, in the same order,
 * so the results are those of the Python-level description (no reassociation: built with
 * -ffp-contract=off and without -ffast-math).
 *
 * Array arguments are C-contiguous float64 buffers; an input of one element repeats, one
 * shorter than the output wraps around (`at`). Outputs are allocated by the caller. The GIL is
 * released while a kernel runs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_erfcx_coefficients.h"

/* The Python module's constants, bit for bit (np.sqrt(0.5), 1/np.sqrt(2π), ...). */
static const double SQRT_HALF = 0x1.6a09e667f3bcdp-1;
static const double SQRT_2PI = 0x1.40d931ff62705p+1;
static const double INV_SQRT_2PI = 0x1.9884533d43651p-2;
static const double SQRT_2_OVER_PI = 0x1.9884533d43651p-1;
static const double LOG_SQRT_2PI = 0x1.d67f1c864beb4p-1;
static const double SQRT_HALF_PI = 0x1.40d931ff62705p+0;
static const double INV_SQRT_PI = 0.56418958354775628694807945156;
#define GUESS_STEPS 3
#define STEP_TOLERANCE 2e-5
#define MAX_EXTRA_STEPS 30
#define NEAR_MONEY_MAX_X 0.25
#define SMALL_TAU 0.01
#define SMALL_TAU_MAX_H 40.0

/* Python's max(a, b) and min(a, b): the first argument unless the second compares larger
 * (smaller), which fixes what a NaN gives. */
static inline double py_max(double a, double b) { return b > a ? b : a; }
static inline double py_min(double a, double b) { return b < a ? b : a; }

/* ---- erfcx (spy_core.special) ---- */

static inline double erfcx_y100(double y100) {
    int k = (int)y100;
    if (k >= 100) return 1.0;
    double t = 2.0 * y100 - (double)(2 * k + 1);
    const double *c = ERFCX_Y100[k];
    return c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * (c[5] + t * c[6])))));
}

static inline double erfcx(double x) {
    if (isnan(x)) return x;
    if (x >= 0.0) {
        if (x > 50.0) {
            if (x > 5e7) return INV_SQRT_PI / x;
            double x2 = x * x;
            return INV_SQRT_PI * (x2 * (x2 + 4.5) + 2.0) / (x * (x2 * (x2 + 5.0) + 3.75));
        }
        return erfcx_y100(400.0 / (4.0 + x));
    }
    if (x < -26.7) return INFINITY;
    if (x < -6.1) return 2.0 * exp(x * x);
    return 2.0 * exp(x * x) - erfcx_y100(400.0 / (4.0 - x));
}

/* ---- normalised Black-76 (spy_core.pricing) ---- */

static inline int small_tau(double x_otm, double s) {
    return s < 2.0 * SMALL_TAU && x_otm > -SMALL_TAU_MAX_H * s;
}

static inline int near_money(double x_otm, double s) {
    return -x_otm < 0.5 * s * s && x_otm > -NEAR_MONEY_MAX_X;
}

static inline double intrinsic(double x, double sign) {
    return 2.0 * sinh(0.5 * py_max(sign * x, 0.0));
}

static inline double taylor_bracket(double h, double tau) {
    double y0 = SQRT_HALF_PI * erfcx(-h * SQRT_HALF);
    double y1 = 1.0 + h * y0;
    double y2 = y0 + h * y1;
    double y3 = 2.0 * y1 + h * y2;
    double y4 = 3.0 * y2 + h * y3;
    double y5 = 4.0 * y3 + h * y4;
    double tau2 = tau * tau;
    return 2.0 * tau * (y1 + tau2 * (y3 / 6.0 + tau2 * y5 / 120.0));
}

static double otm_price(double x, double s) {
    double h = x / s;
    double tau = 0.5 * s;
    if (near_money(x, s)) {
        double sum_of_erfs = erf((tau + h) * SQRT_HALF) + erf((tau - h) * SQRT_HALF);
        double normal_cdf = 0.5 * erfc(-(h + tau) * SQRT_HALF);
        return 0.5 * exp(-0.5 * x) * sum_of_erfs + 2.0 * sinh(0.5 * x) * normal_cdf;
    }
    if (small_tau(x, s))
        return exp(-0.5 * (h * h + tau * tau)) * INV_SQRT_2PI * taylor_bracket(h, tau);
    double diff = erfcx(-(h + tau) * SQRT_HALF) - erfcx((tau - h) * SQRT_HALF);
    return 0.5 * exp(-0.5 * (h * h + tau * tau)) * diff;
}

static inline double initial_guess(double x, double beta, double log_beta) {
    double discriminant = py_max(4.0 * log_beta * log_beta - x * x, 0.0);
    double wing = sqrt(py_max(-4.0 * log_beta - 2.0 * sqrt(discriminant), 0.0));
    return py_max(wing, SQRT_2PI * beta);
}

static inline double guess_step(double s, double x, double log_beta) {
    double h = x / s;
    double h2 = h * h;
    double a_h = SQRT_HALF_PI * fabs(h);
    double quarter_s2 = 0.25 * s * s;
    double denominator = 1.0 + a_h + h2;
    double model = log(s / denominator) - 0.5 * (h2 + 0.5 * quarter_s2) - LOG_SQRT_2PI;
    double slope = h2 - quarter_s2 + 1.0 + (a_h + 2.0 * h2) / denominator;
    return s * exp(py_min(py_max((log_beta - model) / slope, -1.0), 1.0));
}

/* Each Halley step returns the new s and stores the step taken. */
static inline double fast_halley_step(double s, double x, double log_beta, double *step) {
    double h = x / s;
    double tau = 0.5 * s;
    double diff = erfcx(-(h + tau) * SQRT_HALF) - erfcx((tau - h) * SQRT_HALF);
    double f = log(0.5 * diff) - 0.5 * (h * h + tau * tau) - log_beta;
    double f1 = SQRT_2_OVER_PI / diff;
    double newton = f / f1;
    *step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - f1));
    return s - *step;
}

static inline double taylor_halley_step(double s, double x, double log_beta, double *step) {
    double h = x / s;
    double tau = 0.5 * s;
    double bracket = taylor_bracket(h, tau);
    double f = log(bracket) - 0.5 * (h * h + tau * tau) - LOG_SQRT_2PI - log_beta;
    double newton = f * bracket;
    *step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - 1.0 / bracket));
    return s - *step;
}

static inline double halley_step(double s, double x, double log_beta, double *step) {
    double h = x / s;
    double tau = 0.5 * s;
    double b = otm_price(x, s);
    double f = log(b) - log_beta;
    double f1 = exp(-0.5 * (h * h + tau * tau)) * INV_SQRT_2PI / b;
    double newton = f / f1;
    double f2_over_f1 = h * h / s - 0.5 * tau - f1;
    *step = newton / (1.0 - 0.5 * newton * f2_over_f1);
    return s - *step;
}

static inline double halley(double s, double x, double log_beta, int taylor, double *step) {
    if (taylor) return taylor_halley_step(s, x, log_beta, step);
    return fast_halley_step(s, x, log_beta, step);
}

/* s = σ√t with b(x, s) = β for each of n inputs (x ≤ 0, 0 < β < e^{x/2}), one pass per step.
 * `work` holds 3n doubles and n chars. */
static void solve_normalised(const double *beta, const double *x, Py_ssize_t n, double *s,
                             double *log_beta, double *step, char *taylor) {
    for (Py_ssize_t i = 0; i < n; i++) {
        log_beta[i] = log(beta[i]);
        s[i] = initial_guess(x[i], beta[i], log_beta[i]);
    }
    for (int pass = 0; pass < GUESS_STEPS; pass++)
        for (Py_ssize_t i = 0; i < n; i++) s[i] = guess_step(s[i], x[i], log_beta[i]);
    for (Py_ssize_t i = 0; i < n; i++) taylor[i] = (char)small_tau(x[i], 1.1 * s[i]);
    for (int pass = 0; pass < 2; pass++)
        for (Py_ssize_t i = 0; i < n; i++)
            s[i] = halley(s[i], x[i], log_beta[i], taylor[i], &step[i]);
    for (Py_ssize_t i = 0; i < n; i++) {
        for (int extra = 0; extra < MAX_EXTRA_STEPS; extra++) {
            if (fabs(step[i]) <= STEP_TOLERANCE * s[i]) break;
            s[i] = halley(s[i], x[i], log_beta[i], taylor[i], &step[i]);
        }
        if (near_money(x[i], s[i])) {
            double unused;
            s[i] = halley_step(s[i], x[i], log_beta[i], &unused);
        }
    }
}

/* ---- arguments ---- */

typedef struct {
    Py_buffer view;
    const double *data;
    Py_ssize_t size;
} Input;

static inline double at(const Input *in, Py_ssize_t i) {
    Py_ssize_t n = in->size;
    if (n == 1) return in->data[0];
    return i < n ? in->data[i] : in->data[i % n];
}

/* A C-contiguous float64 buffer. */
static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize,
                      const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    const char *format = view->format ? view->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@') format++;
    if (view->itemsize != itemsize || strcmp(format, "d") != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a float64 buffer, got format '%s'", name,
                     view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int get_inputs(PyObject *const *objects, Input *inputs, int count) {
    for (int a = 0; a < count; a++) {
        if (get_buffer(objects[a], &inputs[a].view, 0, sizeof(double), "input") < 0) {
            for (int b = 0; b < a; b++) PyBuffer_Release(&inputs[b].view);
            return -1;
        }
        inputs[a].data = (const double *)inputs[a].view.buf;
        inputs[a].size = inputs[a].view.len / (Py_ssize_t)sizeof(double);
        if (inputs[a].size == 0) {
            PyErr_SetString(PyExc_ValueError, "empty input");
            for (int b = 0; b <= a; b++) PyBuffer_Release(&inputs[b].view);
            return -1;
        }
    }
    return 0;
}

static void release_inputs(Input *inputs, int count) {
    for (int a = 0; a < count; a++) PyBuffer_Release(&inputs[a].view);
}

/* ---- Python entry points ---- */

static PyObject *py_erfcx(PyObject *self, PyObject *arg) {
    double x = PyFloat_AsDouble(arg);
    if (x == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(erfcx(x));
}

/* The kernels: six flat inputs (`at`) in, n results out; -1 when out of memory. */
typedef int (*Kernel)(const Input *in, double *out, Py_ssize_t n);

/* Discounted Black-76 prices of (forward, strike, t, vol, discount, sign). */
static int black76_prices(const Input *in, double *out, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        double f = at(&in[0], i), k = at(&in[1], i);
        double x = log(f / k);
        double s = at(&in[3], i) * sqrt(py_max(at(&in[2], i), 0.0));
        double otm = s > 0.0 ? otm_price(-fabs(x), s) : 0.0;
        double intr = intrinsic(x, at(&in[5], i));
        out[i] = at(&in[4], i) * sqrt(f * k) * (otm + intr);
    }
    return 0;
}

/* Implied vols of (price, forward, strike, t, discount, sign): reduce each to (β, x ≤ 0),
 * solve the valid ones together (see pricing.implied_vol). */
static int implied_vols(const Input *in, double *out, Py_ssize_t n) {
    size_t cells = n > 0 ? (size_t)n : 1;
    Py_ssize_t *valid = malloc(cells * sizeof(Py_ssize_t));
    double *work = malloc(cells * 5 * sizeof(double));
    char *taylor = malloc(cells);
    if (!valid || !work || !taylor) {
        free(valid);
        free(work);
        free(taylor);
        return -1;
    }
    double *beta = work, *x_otm = work + cells, *s = work + 2 * cells;
    double *log_beta = work + 3 * cells, *step = work + 4 * cells;
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = NAN;
        double p = at(&in[0], i), f = at(&in[1], i), k = at(&in[2], i), df = at(&in[4], i);
        if (!(at(&in[3], i) > 0.0 && df > 0.0)) continue;
        double x = log(f / k);
        double normalised = p / (df * sqrt(f * k));
        double intr = intrinsic(x, at(&in[5], i));
        double time_value = normalised - intr;
        /* Within rounding of the intrinsic value the time value is zero, not a tiny vol. */
        if (isfinite(normalised) && fabs(time_value) <= 2e-15 * py_max(normalised, intr)) {
            if (p >= 0.0) out[i] = 0.0;
            continue;
        }
        if (0.0 < time_value && time_value < exp(-0.5 * fabs(x))) {
            valid[m] = i;
            beta[m] = time_value;
            x_otm[m] = -fabs(x);
            m++;
        }
    }
    solve_normalised(beta, x_otm, m, s, log_beta, step, taylor);
    for (Py_ssize_t j = 0; j < m; j++) out[valid[j]] = s[j] / sqrt(at(&in[3], valid[j]));
    free(valid);
    free(work);
    free(taylor);
    return 0;
}

/* name(a, b, c, d, e, f, out): the kernel on six float64 inputs into the float64 `out`. */
static PyObject *call_kernel(const char *name, Kernel kernel, PyObject *const *args,
                             Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "%s takes 7 arguments", name);
        return NULL;
    }
    Input in[6];
    if (get_inputs(args, in, 6) < 0) return NULL;
    Py_buffer out_view;
    if (get_buffer(args[6], &out_view, 1, sizeof(double), "out") < 0) {
        release_inputs(in, 6);
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = kernel(in, (double *)out_view.buf, out_view.len / (Py_ssize_t)sizeof(double));
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out_view);
    release_inputs(in, 6);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *py_black76_prices(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call_kernel("black76_prices", black76_prices, args, nargs);
}

static PyObject *py_implied_vols(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    return call_kernel("implied_vols", implied_vols, args, nargs);
}

static PyMethodDef methods[] = {
    {"erfcx", py_erfcx, METH_O, "erfcx(x) = exp(x²)·erfc(x) of a float."},
    {"black76_prices", (PyCFunction)(void (*)(void))py_black76_prices, METH_FASTCALL,
     "black76_prices(forward, strike, t, vol, discount, sign, out)"},
    {"implied_vols", (PyCFunction)(void (*)(void))py_implied_vols, METH_FASTCALL,
     "implied_vols(price, forward, strike, t, discount, sign, out)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Compiled pricing kernels of spy_core.pricing.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
