/* spy_detector._native: the smile fit (spy_detector/smile.py), the zero-gamma search
 * (spy_detector/gex.py), the per-quote loops of the fair values (spy_detector/fair_value.py)
 * and the static-arbitrage scans (spy_detector/arbitrage.py), compiled when the package is
 * installed.
 *
 * The smile fit is a cubic P-spline on uniform knots: each quote's basis row has four
 * non-zeros from index `first`, the normal matrix has bandwidth 3 and is inverted through its
 * banded Cholesky factor (the hat matrix and the errors need every entry of the inverse), and
 * the robust iterations reweight the quotes (Huber, then Tukey) and switch the one-sided caps
 * on. The method and its reasons are documented in smile.py; this file computes it operation
 * for operation in the documented order (built with -ffp-contract=off, no fast-math).
 *
 * Arrays are C-contiguous buffers (float64, int64 indices, bool flags); outputs are
 * allocated by the caller; the GIL is released while a kernel runs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HUBER_ITERATIONS 2
#define RIDGE 1e-12
#define MAX_LEVERAGE 0.99
#define LOO_MAX_LEVERAGE 0.999
#define BANDWIDTH 3
#define GCV_STEPS 8
#define NEGLIGIBLE_D1_SQUARED 100.0
static const double INV_SQRT_2PI = 0x1.9884533d43651p-2; /* 1/√(2π) as Python computes it */

/* Python's max(a, b), min(a, b); numpy's np.maximum/np.minimum (NaN wins). */
static inline double py_max(double a, double b) { return b > a ? b : a; }
static inline double py_min(double a, double b) { return b < a ? b : a; }
static inline double np_maximum(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a >= b ? a : b;
}
static inline double np_minimum(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a <= b ? a : b;
}

/* ---- the pieces of a fit ---- */

/* The quotes of one fit (see smile.SmileQuotes): n with a mid, m that only cap the vol. */
typedef struct {
    Py_ssize_t n, m;
    Py_ssize_t primary; /* the first `primary` fit quotes set the weights' scale */
    const int64_t *fit_index;
    const double *mid_vol, *half_width;
    const int64_t *bound_index;
    const double *upper_vol, *bound_half_width;
    const char *inside; /* the cap lies between two-sided quotes */
} Quotes;

/* smile._FitSettings. */
typedef struct {
    long intervals, robust_iterations, gcv_below;
    double smoothing, huber_c, tukey_c, min_scale, cap_doubt, max_weight;
} Settings;

/* Uniform cubic B-spline knots: n_basis functions, the first interval starting at lo. */
typedef struct {
    double lo, step;
    int n_basis;
} Knots;

/* Basis rows of `size` points: the first non-zero function and the four values. */
typedef struct {
    Py_ssize_t size;
    int64_t *first;
    double (*values)[4];
} Design;

/* A solve: coefficients and the inverse of the normal matrix (n_basis × n_basis). */
typedef struct {
    double *coef, *inverse;
} Solution;

/* Everything a fit allocates, in one block freed by `release`. */
typedef struct {
    void *blocks[32];
    int count;
} Arena;

static void *take(Arena *arena, size_t bytes) {
    void *block = calloc(1, bytes > 0 ? bytes : 1);
    if (block) arena->blocks[arena->count++] = block;
    return block;
}

static void release(Arena *arena) {
    for (int b = 0; b < arena->count; b++) free(arena->blocks[b]);
    arena->count = 0;
}

static int new_design(Arena *arena, Design *d, Py_ssize_t size) {
    d->size = size;
    d->first = take(arena, (size_t)size * sizeof(int64_t));
    d->values = take(arena, (size_t)size * 4 * sizeof(double));
    return d->first && d->values ? 0 : -1;
}

/* Cubic B-spline basis on uniform knots starting 3 steps below lo. */
static void design(const double *k, Design *d, const Knots *knots) {
    for (Py_ssize_t p = 0; p < d->size; p++) {
        double u = (k[p] - knots->lo) / knots->step + 3.0;
        double cell = py_min(py_max(floor(u), 3.0), knots->n_basis - 1.0);
        double f = u - cell;
        double g = 1.0 - f;
        double f2 = f * f, g2 = g * g;
        d->first[p] = (int64_t)cell - 3;
        d->values[p][0] = g2 * g / 6.0;
        d->values[p][1] = ((3.0 * f - 6.0) * f2 + 4.0) / 6.0;
        d->values[p][2] = ((3.0 * g - 6.0) * g2 + 4.0) / 6.0;
        d->values[p][3] = f2 * f / 6.0;
    }
}

static inline double value(const double *coef, int64_t first, const double *values) {
    return coef[first] * values[0] + coef[first + 1] * values[1] + coef[first + 2] * values[2] +
           coef[first + 3] * values[3];
}

/* b' M b for a basis row b with four non-zeros from `first`; M is n × n. */
static inline double quadratic(const double *matrix, int n, int64_t first, const double *values) {
    double total = 0.0;
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 4; c++)
            total += values[a] * matrix[(first + a) * n + first + c] * values[c];
    return total;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest of a[0..n) (Hoare's selection, median-of-three pivots), reordering a so
 * that every value before position k is at most a[k]. No NaNs. */
static double select_kth(double *a, Py_ssize_t n, Py_ssize_t k) {
    Py_ssize_t lo = 0, hi = n - 1;
    while (hi > lo) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        double t;
#define SWAP(x, y) (t = a[x], a[x] = a[y], a[y] = t)
        if (a[mid] < a[lo]) SWAP(lo, mid);
        if (a[hi] < a[lo]) SWAP(lo, hi);
        if (a[hi] < a[mid]) SWAP(mid, hi);
        double pivot = a[mid];
        Py_ssize_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                SWAP(i, j);
                i++;
                j--;
            }
        }
#undef SWAP
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break; /* a[j+1..i) all equal the pivot */
    }
    return a[k];
}

/* Median of n values (n ≥ 1) as sorting them gives it, `scratch` taking a copy: the two middle
 * values by selection (every sort puts the same values there; a signed zero's sign can differ,
 * which no caller can see), or, where a NaN makes the order depend on the sort, by qsort. */
static double median(const double *values, Py_ssize_t n, double *scratch) {
    memcpy(scratch, values, (size_t)n * sizeof(double));
    Py_ssize_t middle = n / 2;
    for (Py_ssize_t i = 0; i < n; i++)
        if (isnan(scratch[i])) {
            qsort(scratch, (size_t)n, sizeof(double), compare_doubles);
            return 0.5 * (scratch[middle] + scratch[(n - 1) / 2]);
        }
    double upper = select_kth(scratch, n, middle), lower = upper;
    if ((n - 1) / 2 != middle) { /* even n: the largest value below the middle */
        lower = scratch[0];
        for (Py_ssize_t i = 1; i < middle; i++) lower = py_max(lower, scratch[i]);
    }
    return 0.5 * (upper + lower);
}

/* 1/half_width², scaled to a median of one over the first `primary`, at most `cap` (see
 * smile.py). */
static void normalised_weights(const double *half_width, Py_ssize_t n, Py_ssize_t primary,
                               double cap, double *out, double *scratch) {
    for (Py_ssize_t i = 0; i < n; i++) out[i] = 1.0 / (half_width[i] * half_width[i]);
    double middle = median(out, primary, scratch);
    for (Py_ssize_t i = 0; i < n; i++) out[i] = np_minimum(out[i] / middle, cap);
}

/* 1.4826 · median absolute deviation of the inliers' residuals, at least `floor`. */
static double robust_scale(const double *standardized, const double *robust, Py_ssize_t n,
                           double floor_, double *inliers, double *scratch) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (robust[i] > 0.0) inliers[count++] = standardized[i];
    if (count == 0) return floor_;
    double centre = median(inliers, count, scratch);
    for (Py_ssize_t i = 0; i < count; i++) inliers[i] = fabs(inliers[i] - centre);
    return py_max(1.4826 * median(inliers, count, scratch), floor_);
}

static inline double robust_weight(double a, int tukey, double huber_c, double tukey_c) {
    if (tukey) {
        if (!(a < tukey_c)) return 0.0;
        double r = a / tukey_c;
        double u = 1.0 - r * r;
        return u * u;
    }
    return a <= huber_c ? 1.0 : huber_c / py_max(a, 1e-300);
}

/* D'D for the second-difference operator on n coefficients (n × n, zeroed by the caller). */
static void second_difference_gram(int n, double *gram) {
    static const double stencil[3] = {1.0, -2.0, 1.0};
    for (int row = 0; row < n - 2; row++)
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) gram[(row + a) * n + row + c] += stencil[a] * stencil[c];
}

/* Inverse of a symmetric positive-definite n × n matrix with `bandwidth` off-diagonals, by
 * its banded Cholesky factor (`factor` n × n zeroed, `reciprocal` and `forward` n each). */
static void banded_inverse(const double *matrix, int n, int bandwidth, double *inverse,
                           double *factor, double *reciprocal, double *forward) {
    memset(factor, 0, (size_t)n * n * sizeof(double));
    for (int j = 0; j < n; j++) {
        double pivot = matrix[j * n + j];
        for (int k = j - bandwidth > 0 ? j - bandwidth : 0; k < j; k++)
            pivot -= factor[j * n + k] * factor[j * n + k];
        pivot = sqrt(pivot);
        factor[j * n + j] = pivot;
        reciprocal[j] = 1.0 / pivot;
        int end = j + bandwidth + 1 < n ? j + bandwidth + 1 : n;
        for (int i = j + 1; i < end; i++) {
            double v = matrix[i * n + j];
            for (int k = i - bandwidth > 0 ? i - bandwidth : 0; k < j; k++)
                v -= factor[i * n + k] * factor[j * n + k];
            factor[i * n + j] = v * reciprocal[j];
        }
    }
    /* Row by row (the inverse is symmetric): L·y = e_row, then Lᵀ·x = y. */
    memset(forward, 0, (size_t)n * sizeof(double));
    for (int row = 0; row < n; row++) {
        for (int i = row; i < n; i++) {
            double v = i == row ? 1.0 : 0.0;
            for (int k = i - bandwidth > row ? i - bandwidth : row; k < i; k++)
                v -= factor[i * n + k] * forward[k];
            forward[i] = v * reciprocal[i];
        }
        double *out = inverse + (size_t)row * n;
        for (int i = n - 1; i >= 0; i--) {
            double v = i >= row ? forward[i] : 0.0;
            int end = i + bandwidth + 1 < n ? i + bandwidth + 1 : n;
            for (int k = i + 1; k < end; k++) v -= factor[k * n + i] * out[k];
            out[i] = v * reciprocal[i];
        }
    }
}

static inline void accumulate(double *normal, double *rhs, int n, int64_t first,
                              const double *values, double weight, double target) {
    for (int a = 0; a < 4; a++) {
        rhs[first + a] += weight * values[a] * target;
        for (int c = 0; c < 4; c++)
            normal[(first + a) * n + first + c] += weight * values[a] * values[c];
    }
}

/* Scratch of `solve`, sized for n_basis. */
typedef struct {
    double *normal, *rhs, *factor, *reciprocal, *forward;
} SolveScratch;

/* Penalised weighted least squares, binding caps as pseudo-observations, into `out`. */
static void solve(const Design *fit, const double *weights, const double *target,
                  const Design *bound, const char *active, const double *upper_vol,
                  double bound_weight, double smoothing, const double *gram, int n_basis,
                  Solution *out, SolveScratch *scratch) {
    int n = n_basis;
    double *normal = scratch->normal, *rhs = scratch->rhs;
    for (int e = 0; e < n * n; e++) normal[e] = smoothing * gram[e];
    memset(rhs, 0, (size_t)n * sizeof(double));
    for (Py_ssize_t i = 0; i < fit->size; i++)
        accumulate(normal, rhs, n, fit->first[i], fit->values[i], weights[i], target[i]);
    for (Py_ssize_t j = 0; j < bound->size; j++)
        if (active[j])
            accumulate(normal, rhs, n, bound->first[j], bound->values[j], bound_weight,
                       upper_vol[j]);
    double trace = 0.0;
    for (int a = 0; a < n; a++) trace += normal[a * n + a];
    double ridge = RIDGE * trace;
    for (int a = 0; a < n; a++) normal[a * n + a] += ridge;
    banded_inverse(normal, n, BANDWIDTH, out->inverse, scratch->factor, scratch->reciprocal,
                   scratch->forward);
    for (int a = 0; a < n; a++) {
        double total = 0.0;
        for (int c = 0; c < n; c++) total += out->inverse[a * n + c] * rhs[c];
        out->coef[a] = total;
    }
}

/* Generalised cross-validation score n·RSS/(n − effective parameters)². */
static double gcv(const Solution *s, int n_basis, const Design *fit, const double *target,
                  const double *weights) {
    Py_ssize_t n = fit->size;
    double rss = 0.0, edf = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double residual = target[i] - value(s->coef, fit->first[i], fit->values[i]);
        rss += weights[i] * residual * residual;
        edf += quadratic(s->inverse, n_basis, fit->first[i], fit->values[i]) * weights[i];
    }
    double denominator = py_max((double)n - edf, 0.5);
    return (double)n * rss / (denominator * denominator);
}

/* The spline inside [lo, hi]; beyond, its linear continuation, never below half its edge
 * value. `clipped` is a design of k.size points. */
static void extrapolated(const double *k, Py_ssize_t size, const Knots *knots, double hi,
                         const double *coef, Design *clipped, double *clip, double *out) {
    double lo = knots->lo;
    double eps = 1e-4 * py_max(hi - lo, 1e-6);
    double edges[4] = {lo, lo + eps, hi - eps, hi};
    int64_t edge_first[4];
    double edge_values[4][4];
    Design edge_design = {4, edge_first, edge_values};
    design(edges, &edge_design, knots);
    double edge[4];
    for (int p = 0; p < 4; p++) edge[p] = value(coef, edge_first[p], edge_values[p]);
    double slope_lo = (edge[1] - edge[0]) / eps;
    double slope_hi = (edge[3] - edge[2]) / eps;
    for (Py_ssize_t p = 0; p < size; p++) clip[p] = np_minimum(np_maximum(k[p], lo), hi);
    design(clip, clipped, knots);
    for (Py_ssize_t p = 0; p < size; p++) {
        if (k[p] < lo)
            out[p] = py_max(edge[0] + slope_lo * (k[p] - lo), 0.5 * edge[0]);
        else if (k[p] > hi)
            out[p] = py_max(edge[3] + slope_hi * (k[p] - hi), 0.5 * edge[3]);
        else
            out[p] = value(coef, clipped->first[p], clipped->values[p]);
    }
}

/* What the robust iterations leave for `evaluate`. */
typedef struct {
    const double *weights, *robust;
    const char *binding; /* caps active and between two-sided quotes */
    double bound_weight, scale;
} FitState;

/* smile.SmileFit's fields, written by `evaluate`. */
typedef struct {
    double *vol, *vol_error;
    char *outlier;
    double residual_scale, atm_vol;
} Result;

/* Values at every strike (leave-one-out where its own quote shaped them), their standard
 * errors, the outliers and the at-the-money vol. */
static int evaluate(Arena *arena, const double *k_all, Py_ssize_t strikes, const Quotes *q,
                    const Knots *knots, const Design *fit, const Design *bound,
                    const Solution *solution, const FitState *state, Result *result) {
    Py_ssize_t n = q->n;
    int nb = knots->n_basis;
    double hi = knots->lo + knots->step * (nb - 3);
    Design eval;
    double *clip = take(arena, (size_t)strikes * sizeof(double));
    double *smoother = take(arena, (size_t)strikes * n * sizeof(double));
    double *projected = take(arena, (size_t)nb * sizeof(double));
    double *variance_obs = take(arena, (size_t)n * sizeof(double));
    if (!clip || !smoother || !projected || !variance_obs || new_design(arena, &eval, strikes))
        return -1;
    extrapolated(k_all, strikes, knots, hi, solution->coef, &eval, clip, result->vol);
    {
        double zero = 0.0, atm, zero_clip;
        int64_t zero_first;
        double zero_values[4];
        Design zero_design = {1, &zero_first, (double (*)[4])zero_values};
        extrapolated(&zero, 1, knots, hi, solution->coef, &zero_design, &zero_clip, &atm);
        result->atm_vol = atm;
    }
    /* `extrapolated` left the design of the clipped strikes in `eval`. Rows of the smoother:
     * fitted value = smoother @ mid_vol; smoother[e, i] = (inverse · b_e) · b_i · w_i. */
    for (Py_ssize_t e = 0; e < strikes; e++) {
        /* A call and a put of one strike sit side by side at one coordinate: one row. */
        if (e > 0 && k_all[e] == k_all[e - 1]) {
            memcpy(smoother + e * n, smoother + (e - 1) * n, (size_t)n * sizeof(double));
            continue;
        }
        for (int a = 0; a < nb; a++) {
            double total = 0.0;
            for (int c = 0; c < 4; c++)
                total += solution->inverse[a * nb + eval.first[e] + c] * eval.values[e][c];
            projected[a] = total;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            smoother[e * n + i] =
                value(projected, fit->first[i], fit->values[i]) * state->weights[i];
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double spread = state->scale * q->half_width[i];
        variance_obs[i] = spread * spread;
    }
    for (Py_ssize_t e = 0; e < strikes; e++) {
        if (e > 0 && k_all[e] == k_all[e - 1]) {
            result->vol_error[e] = result->vol_error[e - 1];
            continue;
        }
        double total = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            double entry = smoother[e * n + i];
            total += entry * entry * variance_obs[i];
        }
        result->vol_error[e] = sqrt(total);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double hat = quadratic(solution->inverse, nb, fit->first[i], fit->values[i]) *
                     state->weights[i];
        double fitted = value(solution->coef, fit->first[i], fit->values[i]);
        int64_t strike = q->fit_index[i];
        double *row = smoother + strike * n;
        row[i] = 0.0;
        double variance = 0.0;
        for (Py_ssize_t other = 0; other < n; other++)
            variance += row[other] * row[other] * variance_obs[other];
        if (hat < LOO_MAX_LEVERAGE) {
            result->vol[strike] = (fitted - hat * q->mid_vol[i]) / (1.0 - hat);
            result->vol_error[strike] = sqrt(variance) / (1.0 - hat);
        } else {
            result->vol[strike] = fitted;
            result->vol_error[strike] = sqrt(variance);
        }
    }
    /* A cap between two-sided quotes must not set its own fair value either: where it
     * binds, the curve without it (the cap a pseudo-observation). */
    for (Py_ssize_t j = 0; j < q->m; j++) {
        if (!state->binding[j]) continue;
        double leverage = state->bound_weight *
                          quadratic(solution->inverse, nb, bound->first[j], bound->values[j]);
        leverage = py_min(leverage, MAX_LEVERAGE);
        double capped = value(solution->coef, bound->first[j], bound->values[j]);
        result->vol[q->bound_index[j]] = (capped - leverage * q->upper_vol[j]) / (1.0 - leverage);
    }
    memset(result->outlier, 0, (size_t)strikes);
    for (Py_ssize_t i = 0; i < n; i++) result->outlier[q->fit_index[i]] = state->robust[i] == 0.0;
    result->residual_scale = state->scale;
    return 0;
}

/* One coordinate's robust fit and its values at every strike (see smile.fit_smiles). */
static int fit(const double *k_all, Py_ssize_t strikes, const Quotes *q, const Settings *s,
               Result *result) {
    Arena arena = {{0}, 0};
    Py_ssize_t n = q->n, m = q->m;
    int nb = (int)s->intervals + 3;
    double *k_fit = take(&arena, (size_t)n * sizeof(double));
    double *k_bound = take(&arena, (size_t)m * sizeof(double));
    double *base_weight = take(&arena, (size_t)n * sizeof(double));
    double *weights = take(&arena, (size_t)n * sizeof(double));
    double *robust = take(&arena, (size_t)n * sizeof(double));
    double *standardized = take(&arena, (size_t)n * sizeof(double));
    double *inliers = take(&arena, (size_t)n * sizeof(double));
    double *sort_scratch = take(&arena, (size_t)n * sizeof(double));
    char *flags = take(&arena, (size_t)m * 3);
    double *matrices = take(&arena, (size_t)nb * nb * 6 * sizeof(double));
    double *vectors = take(&arena, (size_t)nb * 5 * sizeof(double));
    Design fit_design, bound_design;
    if (!k_fit || !k_bound || !base_weight || !weights || !robust || !standardized ||
        !inliers || !sort_scratch || !flags || !matrices || !vectors ||
        new_design(&arena, &fit_design, n) || new_design(&arena, &bound_design, m)) {
        release(&arena);
        return -1;
    }
    char *active = flags, *plausible = flags + m, *binding = flags + 2 * m;
    size_t square = (size_t)nb * nb;
    double *gram = matrices;
    Solution current = {vectors, matrices + square};
    Solution trial = {vectors + nb, matrices + 2 * square};
    SolveScratch scratch = {matrices + 3 * square, vectors + 2 * nb, matrices + 4 * square,
                            vectors + 3 * nb, vectors + 4 * nb};

    for (Py_ssize_t i = 0; i < n; i++) k_fit[i] = k_all[q->fit_index[i]];
    for (Py_ssize_t j = 0; j < m; j++) k_bound[j] = k_all[q->bound_index[j]];
    /* The spline spans every quote that informs it, bounds included. */
    double lo = k_fit[0], hi = k_fit[0];
    for (Py_ssize_t i = 1; i < n; i++) {
        if (k_fit[i] < lo) lo = k_fit[i];
        if (k_fit[i] > hi) hi = k_fit[i];
    }
    if (m > 0) {
        double bound_lo = k_bound[0], bound_hi = k_bound[0];
        for (Py_ssize_t j = 1; j < m; j++) {
            if (k_bound[j] < bound_lo) bound_lo = k_bound[j];
            if (k_bound[j] > bound_hi) bound_hi = k_bound[j];
        }
        lo = py_min(lo, bound_lo);
        hi = py_max(hi, bound_hi);
    }
    Knots knots = {lo, py_max(hi - lo, 1e-6) / (double)s->intervals, nb};
    design(k_fit, &fit_design, &knots);
    design(k_bound, &bound_design, &knots);
    normalised_weights(q->half_width, n, q->primary, s->max_weight, base_weight, sort_scratch);
    double bound_weight = median(base_weight, q->primary, sort_scratch);
    second_difference_gram(nb, gram);
    for (Py_ssize_t j = 0; j < m; j++) plausible[j] = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        robust[i] = 1.0;
        weights[i] = base_weight[i];
    }
    double scale = s->min_scale;
    double smoothing = s->smoothing;
    /* Sparse chains choose their smoothing (the configured value or stiffer) by GCV on the
     * first, unweighted fit; see smile._fit. */
    solve(&fit_design, weights, q->mid_vol, &bound_design, active, q->upper_vol, bound_weight,
          smoothing, gram, nb, &current, &scratch);
    if (n < s->gcv_below) {
        double best = gcv(&current, nb, &fit_design, q->mid_vol, base_weight);
        double candidate = smoothing;
        for (int step = 0; step < GCV_STEPS - 1; step++) {
            candidate *= 4.0;
            solve(&fit_design, weights, q->mid_vol, &bound_design, active, q->upper_vol,
                  bound_weight, candidate, gram, nb, &trial, &scratch);
            double score = gcv(&trial, nb, &fit_design, q->mid_vol, base_weight);
            if (score < best) {
                Solution winner = trial;
                trial = current;
                current = winner;
                best = score;
                smoothing = candidate;
            }
        }
    }
    for (long iteration = 0; iteration < s->robust_iterations; iteration++) {
        /* Studentized (leave-one-out) residuals. */
        for (Py_ssize_t i = 0; i < n; i++) {
            const double *b = fit_design.values[i];
            double hat = quadratic(current.inverse, nb, fit_design.first[i], b) * base_weight[i];
            double fitted = value(current.coef, fit_design.first[i], b);
            double leverage = py_min(hat, MAX_LEVERAGE);
            standardized[i] = (q->mid_vol[i] - fitted) / (1.0 - leverage) / q->half_width[i];
        }
        scale = robust_scale(standardized, robust, n, s->min_scale, inliers, sort_scratch);
        int tukey = iteration >= HUBER_ITERATIONS;
        for (Py_ssize_t i = 0; i < n; i++) {
            robust[i] = robust_weight(fabs(standardized[i] / scale), tukey, s->huber_c, s->tukey_c);
            weights[i] = base_weight[i] * robust[i];
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            double excess =
                value(current.coef, bound_design.first[j], bound_design.values[j]) - q->upper_vol[j];
            if (iteration == 0) {
                /* Between two-sided quotes, a cap the uncapped curve overshoots by many
                 * half-ticks is a mispriced offer, not a bound: it never caps. */
                double doubt = s->cap_doubt * scale * q->bound_half_width[j];
                plausible[j] = (!q->inside[j]) || excess <= doubt;
            }
            active[j] = (active[j] || excess > 0.0) && plausible[j];
        }
        solve(&fit_design, weights, q->mid_vol, &bound_design, active, q->upper_vol,
              bound_weight, smoothing, gram, nb, &current, &scratch);
    }
    for (Py_ssize_t j = 0; j < m; j++) binding[j] = active[j] && q->inside[j];
    FitState state = {weights, robust, binding, bound_weight, scale};
    int status = evaluate(&arena, k_all, strikes, q, &knots, &fit_design, &bound_design,
                          &current, &state, result);
    release(&arena);
    return status;
}

/* Sum and gross |GEX| at each spot ratio (gex._Contracts.gex at spot·ratio, summed). */
static void grid_totals(const double *log_moneyness, const double *total_sd,
                        const double *weight, Py_ssize_t contracts, const double *ratios,
                        Py_ssize_t spots, double *totals, double *gross) {
    for (Py_ssize_t r = 0; r < spots; r++) {
        double shift = log(ratios[r]);
        totals[r] = 0.0;
        gross[r] = 0.0;
        for (Py_ssize_t c = 0; c < contracts; c++) {
            double d1 = (log_moneyness[c] + shift) / total_sd[c] + 0.5 * total_sd[c];
            if (d1 * d1 > NEGLIGIBLE_D1_SQUARED) continue;
            double v = weight[c] * ratios[r] * exp(-0.5 * d1 * d1) * INV_SQRT_2PI;
            totals[r] += v;
            gross[r] += fabs(v);
        }
    }
}

/* Zero-gamma search (gex._zero_gamma): the bracket of the sign change in total GEX across
 * `spots` (ratios to the current spot) nearest 1, with its linearly interpolated root, as
 * gex.py documents it. Points whose total is within 1e-9 of the gross carry no sign and are
 * bracketed across. `totals` and `gross` are scratch of `count` entries. Returns 0 when there
 * is no sign change. */
static int nearest_sign_change(const double *lm, const double *sd, const double *w,
                               Py_ssize_t contracts, double *spots, Py_ssize_t count,
                               double *totals, double *gross, double relative_zero,
                               double *bracket) {
    grid_totals(lm, sd, w, contracts, spots, count, totals, gross);
    Py_ssize_t kept = 0;
    for (Py_ssize_t r = 0; r < count; r++)
        if (fabs(totals[r]) > relative_zero * gross[r]) {
            spots[kept] = spots[r];
            totals[kept] = totals[r];
            kept++;
        }
    int found = 0;
    double best = 0.0;
    for (Py_ssize_t r = 0; r + 1 < kept; r++) {
        double a = totals[r], b = totals[r + 1];
        if ((a > 0) == (b > 0)) continue;
        double lo = spots[r], hi = spots[r + 1];
        double root = lo - a * (hi - lo) / (b - a);
        double distance = fabs(root - 1.0);
        /* np.argmin: the first minimum, a NaN being the minimum */
        if (!found || (!isnan(best) && (isnan(distance) || distance < best))) {
            found = 1;
            best = distance;
            bracket[0] = lo;
            bracket[1] = hi;
            bracket[2] = root;
        }
    }
    return found;
}

/* np.linspace(start, stop, count): start + i·step, the last point exactly `stop`. */
static void linspace(double start, double stop, Py_ssize_t count, double *out) {
    Py_ssize_t div = count - 1;
    double delta = stop - start, step = delta / (double)div;
    for (Py_ssize_t i = 0; i < count; i++)
        out[i] = (step == 0.0 ? (double)i / (double)div * delta : (double)i * step) + start;
    out[count - 1] = stop;
}

/* ---- fair values (spy_detector/fair_value.py) ---- */

/* fair_value._local_bias for `fits` rows of vols at `strikes` strikes: the fitted quotes in
 * strike order (a stable sort of their positions), each one's excess miss
 * max((vol − mid)² − half_width²/3, 0), and per strike the square root of the median over
 * the nearest `neighbours` fitted quotes either side of its strike (itself excluded), a NaN
 * sorting last as numpy's sort does. 0 where no neighbour is fitted. */
static int nan_last(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : 1;
    if (isnan(y)) return -1;
    return (x > y) - (x < y);
}

static int local_bias(const double *strike, Py_ssize_t strikes, const int64_t *fit_index,
                      const double *mid_vol, const double *half_width, Py_ssize_t n,
                      const double *vols, Py_ssize_t fits, long neighbours, double *bias) {
    memset(bias, 0, (size_t)(fits * strikes) * sizeof(double));
    if (n == 0) return 0;
    Py_ssize_t *order = malloc((size_t)n * sizeof(Py_ssize_t));
    double *sorted = malloc((size_t)n * sizeof(double));
    double *excess = malloc((size_t)(fits * n) * sizeof(double));
    double *window = malloc((size_t)(2 * neighbours + 1) * sizeof(double));
    if (!order || !sorted || !excess || !window) {
        free(order), free(sorted), free(excess), free(window);
        return -1;
    }
    for (Py_ssize_t j = 0; j < n; j++) { /* insertion sort: stable, and the runs are sorted */
        double key = strike[fit_index[j]];
        Py_ssize_t i = j;
        while (i > 0 && sorted[i - 1] > key) {
            sorted[i] = sorted[i - 1];
            order[i] = order[i - 1];
            i--;
        }
        sorted[i] = key;
        order[i] = j;
    }
    for (Py_ssize_t f = 0; f < fits; f++)
        for (Py_ssize_t j = 0; j < n; j++) {
            Py_ssize_t o = order[j];
            double missed = vols[f * strikes + fit_index[o]] - mid_vol[o];
            double e = missed * missed - half_width[o] * half_width[o] / 3.0;
            excess[f * n + j] = np_maximum(e, 0.0);
        }
    for (Py_ssize_t i = 0; i < strikes; i++) {
        Py_ssize_t lo = 0, hi = n; /* searchsorted(side="left") */
        while (lo < hi) {
            Py_ssize_t middle = (lo + hi) / 2;
            if (sorted[middle] < strike[i]) lo = middle + 1;
            else hi = middle;
        }
        for (Py_ssize_t f = 0; f < fits; f++) {
            Py_ssize_t count = 0;
            for (Py_ssize_t j = lo - neighbours; j <= lo + neighbours; j++)
                if (j >= 0 && j < n && fit_index[order[j]] != i)
                    window[count++] = excess[f * n + j];
            if (count == 0) continue;
            qsort(window, (size_t)count, sizeof(double), nan_last);
            bias[f * strikes + i] = sqrt(0.5 * (window[(count - 1) / 2] + window[count / 2]));
        }
    }
    free(order), free(sorted), free(excess), free(window);
    return 0;
}

/* fair_value._parity_values: each in-the-money quote priced from its strike's out-of-the-money
 * quote by parity where that one is `usable` and at most `max_ticks` ticks wide; NaN
 * elsewhere. Calls sort first, so a strike's call and put are neighbours. */
static void parity_values(const double *strike, const double *bid, const double *ask,
                          const double *tick, const char *usable, Py_ssize_t n, double forward,
                          double discount, double max_ticks, double *fair, double *error) {
    for (Py_ssize_t i = 0; i < n; i++) fair[i] = error[i] = NAN;
    for (Py_ssize_t call = 0; call + 1 < n; call++) {
        Py_ssize_t put = call + 1;
        if (strike[put] != strike[call]) continue;
        int call_otm = strike[call] >= forward;
        Py_ssize_t itm = call_otm ? put : call, other = call_otm ? call : put;
        double b = bid[other], a = ask[other];
        if (!(usable[other] && b >= 0 && b < a && a <= b + max_ticks * tick[other] + 1e-9))
            continue;
        double carry = discount * (forward - strike[itm]);
        fair[itm] = 0.5 * (b + a) + (call_otm ? -carry : carry);
        error[itm] = 0.5 * (a - b) / sqrt(3.0);
    }
}

/* fair_value._neighbour_bounds for one right: `idx` (m positions) in the order value falls
 * along (calls by rising strike, puts by falling). Each quote's floor is the highest later
 * bid and its cap the lowest earlier offer (no offer: +inf); where a neighbour crosses the
 * quote (a later bid at or above its offer, an earlier offer at or below its bid), only the
 * neighbours that do not cross it bound it, and the quote is marked crossed when it crosses
 * at least as many neighbours as any neighbour it crosses does. `count` and `bad` are
 * scratch of m entries. */
static void right_bounds(const double *bid_all, const double *ask_all, const Py_ssize_t *idx,
                         Py_ssize_t m, double *cap, double *floor, char *crossed,
                         Py_ssize_t *count, Py_ssize_t *bad) {
#define BID(j) bid_all[idx[j]]
#define ASK(j) (ask_all[idx[j]] > 0 ? ask_all[idx[j]] : INFINITY)
#define CROSSES(j, x) ((x) > (j) ? !(BID(x) < ASK(j)) : (x) < (j) && !(ASK(x) > BID(j)))
    double highest = BID(m - 1), lowest = ASK(0);
    floor[idx[m - 1]] = -INFINITY;
    for (Py_ssize_t j = m - 2; j >= 0; j--) {
        floor[idx[j]] = highest;
        highest = np_maximum(highest, BID(j));
    }
    cap[idx[0]] = INFINITY;
    for (Py_ssize_t j = 1; j < m; j++) {
        cap[idx[j]] = lowest;
        lowest = np_minimum(lowest, ASK(j));
    }
    int any = 0;
    for (Py_ssize_t j = 0; j < m; j++) {
        count[j] = 0;
        bad[j] = floor[idx[j]] >= ASK(j) || cap[idx[j]] <= BID(j);
        if (!bad[j]) continue;
        any = 1;
        double new_floor = -INFINITY, new_cap = INFINITY;
        for (Py_ssize_t x = 0; x < m; x++) {
            if (CROSSES(j, x)) count[j]++;
            else if (x > j) new_floor = np_maximum(new_floor, BID(x));
            else if (x < j) new_cap = np_minimum(new_cap, ASK(x));
        }
        floor[idx[j]] = new_floor;
        cap[idx[j]] = new_cap;
    }
    if (!any) return;
    for (Py_ssize_t j = 0; j < m; j++) {
        if (!bad[j] || count[j] == 0) continue;
        Py_ssize_t most = 0;
        for (Py_ssize_t x = 0; x < m; x++)
            if (CROSSES(j, x) && count[x] > most) most = count[x];
        if (count[j] >= most) crossed[idx[j]] = 1;
    }
#undef BID
#undef ASK
#undef CROSSES
}

static int neighbour_bounds(const double *bid, const double *ask, const char *is_call,
                            Py_ssize_t n, double *cap, double *floor, char *crossed) {
    for (Py_ssize_t i = 0; i < n; i++) {
        cap[i] = INFINITY;
        floor[i] = -INFINITY;
        crossed[i] = 0;
    }
    Py_ssize_t *scratch = malloc((size_t)(3 * n + 1) * sizeof(Py_ssize_t));
    if (!scratch) return -1;
    Py_ssize_t *idx = scratch, *count = scratch + n, *bad = scratch + 2 * n;
    for (int call = 1; call >= 0; call--) {
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < n; i++) /* puts gain value as strike rises: mirrored */
            if (call ? is_call[i] : !is_call[n - 1 - i]) idx[m++] = call ? i : n - 1 - i;
        if (m >= 2) right_bounds(bid, ask, idx, m, cap, floor, crossed, count, bad);
    }
    free(scratch);
    return 0;
}

/* ---- static arbitrage (spy_detector/arbitrage.py) ----
 * Each scan walks `idx` (m positions of one right, in the order value falls) and returns
 * only where a bound is crossed, as a list; arbitrage.py prices and describes those few. */

/* (i, best_at) wherever a bid exceeds the lowest earlier offer (`best_at`) by more than
 * `slack`; the lowest offer updates after the check, strictly lower offers only. */
static PyObject *monotonicity_hits(const double *bid, const double *ask, const int64_t *idx,
                                   Py_ssize_t m, double slack) {
    PyObject *hits = PyList_New(0);
    double best_ask = INFINITY;
    int64_t best_at = -1;
    for (Py_ssize_t j = 0; hits && j < m; j++) {
        int64_t i = idx[j];
        if (bid[i] > best_ask + slack) {
            PyObject *hit = Py_BuildValue("(LL)", (long long)i, (long long)best_at);
            if (!hit || PyList_Append(hits, hit) < 0) Py_CLEAR(hits);
            Py_XDECREF(hit);
        }
        if (0 < ask[i] && ask[i] < best_ask) {
            best_ask = ask[i];
            best_at = i;
        }
    }
    return hits;
}

/* j wherever idx[j+1] is offered and bid[idx[j]] − ask[idx[j+1]] − scale·|ΔK| > slack. */
static PyObject *vertical_hits(const double *strike, const double *bid, const double *ask,
                               const int64_t *idx, Py_ssize_t m, double scale, double slack) {
    PyObject *hits = PyList_New(0);
    for (Py_ssize_t j = 0; hits && j + 1 < m; j++) {
        int64_t near = idx[j], far = idx[j + 1];
        double width = scale * fabs(strike[far] - strike[near]);
        if (ask[far] > 0 && bid[near] - ask[far] - width > slack) {
            PyObject *hit = PyLong_FromSsize_t(j);
            if (!hit || PyList_Append(hits, hit) < 0) Py_CLEAR(hits);
            Py_XDECREF(hit);
        }
    }
    return hits;
}

/* (left, mid, right) wherever, among the offered quotes, a middle bid exceeds the
 * interpolation of its neighbours' offers, λ·ask(left) + (1−λ)·ask(right) with
 * λ = (K3−K2)/(K3−K1), by more than `slack` (arbitrage.convexity_caps). */
static PyObject *butterfly_hits(const double *strike, const double *bid, const double *ask,
                                const int64_t *idx, Py_ssize_t m, double slack) {
    PyObject *hits = PyList_New(0);
    int64_t left = -1, mid = -1;
    for (Py_ssize_t j = 0; hits && j < m; j++) {
        int64_t right = idx[j];
        if (!(ask[right] > 0)) continue;
        if (left >= 0) {
            double lam = (strike[right] - strike[mid]) / (strike[right] - strike[left]);
            double cap = lam * ask[left] + (1.0 - lam) * ask[right];
            if (bid[mid] > cap + slack) {
                PyObject *hit = Py_BuildValue("(LLL)", (long long)left, (long long)mid,
                                              (long long)right);
                if (!hit || PyList_Append(hits, hit) < 0) Py_CLEAR(hits);
                Py_XDECREF(hit);
            }
        }
        left = mid;
        mid = right;
    }
    return hits;
}

/* ---- arguments ---- */

#define MAX_BUFFERS 12

typedef struct {
    Py_buffer views[MAX_BUFFERS];
    int count;
} Buffers;

static void release_buffers(Buffers *buffers) {
    for (int b = 0; b < buffers->count; b++) PyBuffer_Release(&buffers->views[b]);
    buffers->count = 0;
}

/* A C-contiguous buffer of `itemsize`-byte items: float64 ("d") for 8 unless `name` ends in
 * "index" (int64, "l" or "q"), bool ("?") for 1. Its data, and its length in items. */
static void *buffer(Buffers *buffers, PyObject *obj, Py_ssize_t itemsize, int writable,
                    Py_ssize_t *length, const char *name) {
    Py_buffer *view = &buffers->views[buffers->count];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return NULL;
    buffers->count++;
    size_t name_length = strlen(name);
    int is_index = name_length >= 5 && strcmp(name + name_length - 5, "index") == 0;
    const char *format = view->format ? view->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@') format++;
    const char *allowed = itemsize == 1 ? "?" : is_index ? "lq" : "d";
    if (view->itemsize != itemsize || format[0] == '\0' || format[1] != '\0' ||
        !strchr(allowed, format[0])) {
        PyErr_Format(PyExc_TypeError, "%s: expected a buffer of format '%s', got '%s'", name,
                     allowed, view->format ? view->format : "B");
        return NULL;
    }
    *length = view->len / itemsize;
    return view->buf ? view->buf : (void *)"";
}

/* fit(k_all, quotes, settings, vol, vol_error, outlier) -> (residual_scale, atm_vol).
 * quotes: smile._FitQuotes (fit_index, mid_vol, half_width, bound_index, upper_vol,
 * bound_half_width, inside); settings: smile._FitSettings (intervals, smoothing,
 * robust_iterations, huber_c, tukey_c, min_scale, cap_doubt, max_weight, gcv_below). */
static PyObject *py_fit(PyObject *self, PyObject *args) {
    PyObject *k_obj, *vol_obj, *error_obj, *outlier_obj;
    PyObject *fi, *mv, *hw, *bi, *uv, *bhw, *ins;
    Settings s;
    Quotes q;
    if (!PyArg_ParseTuple(args, "O(OOOOOOOn)(ldldddddl)OOO:fit", &k_obj, &fi, &mv, &hw, &bi, &uv,
                          &bhw, &ins, &q.primary, &s.intervals, &s.smoothing, &s.robust_iterations,
                          &s.huber_c, &s.tukey_c, &s.min_scale, &s.cap_doubt, &s.max_weight,
                          &s.gcv_below, &vol_obj, &error_obj, &outlier_obj))
        return NULL;
    Buffers b = {.count = 0};
    Py_ssize_t strikes, n, n2, n3, m, m2, m3, m4, s2, s3, s4;
    const double *k_all = buffer(&b, k_obj, 8, 0, &strikes, "k_all");
    Result result;
    if (!k_all || !(q.fit_index = buffer(&b, fi, 8, 0, &n, "fit_index")) ||
        !(q.mid_vol = buffer(&b, mv, 8, 0, &n2, "mid_vol")) ||
        !(q.half_width = buffer(&b, hw, 8, 0, &n3, "half_width")) ||
        !(q.bound_index = buffer(&b, bi, 8, 0, &m, "bound_index")) ||
        !(q.upper_vol = buffer(&b, uv, 8, 0, &m2, "upper_vol")) ||
        !(q.bound_half_width = buffer(&b, bhw, 8, 0, &m3, "bound_half_width")) ||
        !(q.inside = buffer(&b, ins, 1, 0, &m4, "inside")) ||
        !(result.vol = buffer(&b, vol_obj, 8, 1, &s2, "vol")) ||
        !(result.vol_error = buffer(&b, error_obj, 8, 1, &s3, "vol_error")) ||
        !(result.outlier = buffer(&b, outlier_obj, 1, 1, &s4, "outlier"))) {
        release_buffers(&b);
        return NULL;
    }
    q.n = n;
    q.m = m;
    if (n2 != n || n3 != n || m2 != m || m3 != m || m4 != m || s2 != strikes ||
        s3 != strikes || s4 != strikes || n < 1 || s.intervals < 1 || q.primary < 1 ||
        q.primary > n) {
        release_buffers(&b);
        PyErr_SetString(PyExc_ValueError, "fit: inconsistent sizes");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (q.fit_index[i] < 0 || q.fit_index[i] >= strikes) goto out_of_range;
    for (Py_ssize_t j = 0; j < m; j++)
        if (q.bound_index[j] < 0 || q.bound_index[j] >= strikes) goto out_of_range;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = fit(k_all, strikes, &q, &s, &result);
    Py_END_ALLOW_THREADS
    release_buffers(&b);
    if (status < 0) return PyErr_NoMemory();
    return Py_BuildValue("(dd)", result.residual_scale, result.atm_vol);
out_of_range:
    release_buffers(&b);
    PyErr_SetString(PyExc_IndexError, "fit: quote index outside the strikes");
    return NULL;
}

/* Releases the buffers and raises `type` with `message`: NULL, for the caller to return. */
static PyObject *fail(Buffers *buffers, PyObject *type, const char *message) {
    release_buffers(buffers);
    PyErr_SetString(type, message);
    return NULL;
}

/* Whether every one of `count` indices lies in [0, limit). */
static int in_range(const int64_t *index, Py_ssize_t count, Py_ssize_t limit) {
    for (Py_ssize_t i = 0; i < count; i++)
        if (index[i] < 0 || index[i] >= limit) return 0;
    return 1;
}

/* One array argument of the kernels below: its object, item size and whether it is written
 * (as `buffer` reads them), its name; `data` and `length` once acquired. */
typedef struct {
    PyObject *obj;
    Py_ssize_t itemsize;
    int writable;
    const char *name;
    void *data;
    Py_ssize_t length;
} Array;

/* Acquires the `count` arrays; on failure releases what was taken (the error is set). Where
 * `same` is true every array must have the first one's length. */
static int acquire(Buffers *buffers, Array *arrays, int count, int same) {
    for (int i = 0; i < count; i++) {
        Array *a = &arrays[i];
        a->data = buffer(buffers, a->obj, a->itemsize, a->writable, &a->length, a->name);
        if (!a->data) {
            release_buffers(buffers);
            return -1;
        }
        if (same && a->length != arrays[0].length) {
            fail(buffers, PyExc_ValueError, "arrays of different lengths");
            return -1;
        }
    }
    return 0;
}

#define IN(obj, name) {obj, 8, 0, name, NULL, 0}
#define OUT(obj, name) {obj, 8, 1, name, NULL, 0}
#define FLAGS_IN(obj, name) {obj, 1, 0, name, NULL, 0}
#define FLAGS_OUT(obj, name) {obj, 1, 1, name, NULL, 0}

/* zero_gamma(log_moneyness, total_sd, weight, grid_width, grid_points, refine_points,
 * relative_zero) -> the spot ratio of gex._zero_gamma, or None. */
static PyObject *py_zero_gamma(PyObject *self, PyObject *args) {
    PyObject *lm, *sd, *w;
    double width, relative_zero;
    Py_ssize_t points, refine;
    if (!PyArg_ParseTuple(args, "OOOdnnd:zero_gamma", &lm, &sd, &w, &width, &points, &refine,
                          &relative_zero))
        return NULL;
    Buffers b = {.count = 0};
    Array a[] = {IN(lm, "log_moneyness"), IN(sd, "total_sd"), IN(w, "weight")};
    if (acquire(&b, a, 3, 1) < 0) return NULL;
    if (points < 2 || refine < 2) return fail(&b, PyExc_ValueError, "zero_gamma: too few points");
    Py_ssize_t most = points > refine ? points : refine;
    double *scratch = malloc((size_t)(3 * most) * sizeof(double));
    if (!scratch) {
        release_buffers(&b);
        return PyErr_NoMemory();
    }
    double coarse[3], fine[3];
    int found, refined = 0;
    Py_BEGIN_ALLOW_THREADS
    linspace(1.0 - width, 1.0 + width, points, scratch);
    found = nearest_sign_change(a[0].data, a[1].data, a[2].data, a[0].length, scratch, points,
                                scratch + most, scratch + 2 * most, relative_zero, coarse);
    if (found) {
        linspace(coarse[0], coarse[1], refine, scratch);
        refined = nearest_sign_change(a[0].data, a[1].data, a[2].data, a[0].length, scratch,
                                      refine, scratch + most, scratch + 2 * most, relative_zero,
                                      fine);
    }
    Py_END_ALLOW_THREADS
    free(scratch);
    release_buffers(&b);
    if (!found) Py_RETURN_NONE;
    return PyFloat_FromDouble(refined ? fine[2] : coarse[2]);
}

/* local_bias(strike, fit_index, mid_vol, half_width, vols, neighbours, bias): vols and bias
 * hold one row of `strike`'s size per fit. */
static PyObject *py_local_bias(PyObject *self, PyObject *args) {
    PyObject *strike, *fit_index, *mid_vol, *half_width, *vols, *bias;
    long neighbours;
    if (!PyArg_ParseTuple(args, "OOOOOlO:local_bias", &strike, &fit_index, &mid_vol,
                          &half_width, &vols, &neighbours, &bias))
        return NULL;
    Buffers b = {.count = 0};
    Array a[] = {IN(strike, "strike"), IN(fit_index, "fit_index"), IN(mid_vol, "mid_vol"),
                 IN(half_width, "half_width"), IN(vols, "vols"), OUT(bias, "bias")};
    if (acquire(&b, a, 6, 0) < 0) return NULL;
    Py_ssize_t strikes = a[0].length, n = a[1].length, v = a[4].length;
    if (a[2].length != n || a[3].length != n || a[5].length != v || strikes == 0 ||
        v % strikes != 0 || neighbours < 0)
        return fail(&b, PyExc_ValueError, "local_bias: inconsistent sizes");
    if (!in_range(a[1].data, n, strikes))
        return fail(&b, PyExc_IndexError, "local_bias: quote index outside the strikes");
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = local_bias(a[0].data, strikes, a[1].data, a[2].data, a[3].data, n, a[4].data,
                        v / strikes, neighbours, a[5].data);
    Py_END_ALLOW_THREADS
    release_buffers(&b);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* parity_values(strike, bid, ask, tick, usable, forward, discount, max_ticks, fair, error). */
static PyObject *py_parity_values(PyObject *self, PyObject *args) {
    PyObject *strike, *bid, *ask, *tick, *usable, *fair, *error;
    double forward, discount, max_ticks;
    if (!PyArg_ParseTuple(args, "OOOOOdddOO:parity_values", &strike, &bid, &ask, &tick,
                          &usable, &forward, &discount, &max_ticks, &fair, &error))
        return NULL;
    Buffers b = {.count = 0};
    Array a[] = {IN(strike, "strike"), IN(bid, "bid"),         IN(ask, "ask"),
                 IN(tick, "tick"),     FLAGS_IN(usable, "usable"), OUT(fair, "fair"),
                 OUT(error, "error")};
    if (acquire(&b, a, 7, 1) < 0) return NULL;
    parity_values(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[0].length, forward,
                  discount, max_ticks, a[5].data, a[6].data);
    release_buffers(&b);
    Py_RETURN_NONE;
}

/* neighbour_bounds(bid, ask, is_call, cap, floor, crossed). */
static PyObject *py_neighbour_bounds(PyObject *self, PyObject *args) {
    PyObject *bid, *ask, *is_call, *cap, *floor, *crossed;
    if (!PyArg_ParseTuple(args, "OOOOOO:neighbour_bounds", &bid, &ask, &is_call, &cap, &floor,
                          &crossed))
        return NULL;
    Buffers b = {.count = 0};
    Array a[] = {IN(bid, "bid"),  IN(ask, "ask"),     FLAGS_IN(is_call, "is_call"),
                 OUT(cap, "cap"), OUT(floor, "floor"), FLAGS_OUT(crossed, "crossed")};
    if (acquire(&b, a, 6, 1) < 0) return NULL;
    int status = neighbour_bounds(a[0].data, a[1].data, a[2].data, a[0].length, a[3].data,
                                  a[4].data, a[5].data);
    release_buffers(&b);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* arbitrage_hits(strike, bid, ask, idx, scale, slack) -> (monotonicity, vertical, butterfly):
 * the three scans along idx (scale is the vertical's discount factor, 1 for American). */
static PyObject *py_arbitrage_hits(PyObject *self, PyObject *args) {
    PyObject *strike, *bid, *ask, *idx;
    double scale, slack;
    if (!PyArg_ParseTuple(args, "OOOOdd:arbitrage_hits", &strike, &bid, &ask, &idx, &scale,
                          &slack))
        return NULL;
    Buffers b = {.count = 0};
    Array a[] = {IN(strike, "strike"), IN(bid, "bid"), IN(ask, "ask")};
    Array positions[] = {IN(idx, "index")};
    if (acquire(&b, a, 3, 1) < 0 || acquire(&b, positions, 1, 0) < 0) return NULL;
    Py_ssize_t m = positions[0].length;
    const int64_t *at = positions[0].data;
    if (!in_range(at, m, a[0].length))
        return fail(&b, PyExc_IndexError, "arbitrage_hits: index outside the quotes");
    PyObject *monotonicity = monotonicity_hits(a[1].data, a[2].data, at, m, slack);
    PyObject *vertical =
        monotonicity ? vertical_hits(a[0].data, a[1].data, a[2].data, at, m, scale, slack)
                     : NULL;
    PyObject *butterfly =
        vertical ? butterfly_hits(a[0].data, a[1].data, a[2].data, at, m, slack) : NULL;
    release_buffers(&b);
    if (!butterfly) {
        Py_XDECREF(monotonicity);
        Py_XDECREF(vertical);
        return NULL;
    }
    return Py_BuildValue("(NNN)", monotonicity, vertical, butterfly);
}

#undef IN
#undef OUT
#undef FLAGS_IN
#undef FLAGS_OUT

static PyMethodDef methods[] = {
    {"fit", py_fit, METH_VARARGS,
     "fit(k_all, quotes, settings, vol, vol_error, outlier) -> (residual_scale, atm_vol)"},
    {"zero_gamma", py_zero_gamma, METH_VARARGS,
     "zero_gamma(log_moneyness, total_sd, weight, grid_width, grid_points, refine_points, "
     "relative_zero) -> spot ratio or None"},
    {"local_bias", py_local_bias, METH_VARARGS,
     "local_bias(strike, fit_index, mid_vol, half_width, vols, neighbours, bias)"},
    {"arbitrage_hits", py_arbitrage_hits, METH_VARARGS,
     "arbitrage_hits(strike, bid, ask, idx, scale, slack) -> (monotonicity, vertical, "
     "butterfly) hits"},
    {"neighbour_bounds", py_neighbour_bounds, METH_VARARGS,
     "neighbour_bounds(bid, ask, is_call, cap, floor, crossed)"},
    {"parity_values", py_parity_values, METH_VARARGS,
     "parity_values(strike, bid, ask, tick, usable, forward, discount, max_ticks, fair, error)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_native",
    "Compiled kernels of spy_detector.smile, .gex, .fair_value and .arbitrage.",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
