using System.Numerics.Tensors;

namespace RankEngine.Models.Linear;

/// <summary>
/// The few dense kernels the recommendation models need, on row-major matrices: tall-skinny products
/// (n × k with k a few hundred), Gram matrices, Cholesky factorisation and solves, and a symmetric eigensolver
/// for small k × k matrices. Tall matrices are fp32 (they scale with the catalog); small ones are fp64 (they decide
/// the accuracy and cost nothing).
/// </summary>
internal static class DenseOps
{
    private const int RowBlock = 256;

    /// <summary>Gram matrix <c>AᵀA</c> (k × k, fp64) of a row-major n × k matrix, accumulated per row block in fp32.</summary>
    public static double[] Gram(ReadOnlySpan<float> a, int rows, int k) => Gram(a.ToArray(), rows, k);

    public static double[] Gram(float[] a, int rows, int k)
    {
        var total = new double[k * k];
        int blocks = (rows + RowBlock - 1) / RowBlock;
        int parts = Partitions(blocks);
        var partial = new double[parts][];
        // fp64 accumulators: Gram matrices of sketches are ill-conditioned, and fp32 sums lose their small directions.
        Parallel.For(0, parts, part =>
        {
            var acc = new double[k * k];
            var row = new double[k];
            var (from, to) = PartitionRange(blocks, parts, part);
            for (int i = from * RowBlock, end = Math.Min(rows, to * RowBlock); i < end; i++)
            {
                TensorPrimitives.ConvertChecked<float, double>(a.AsSpan(i * k, k), row);
                for (int p = 0; p < k; p++)
                {
                    double v = row[p];
                    if (v == 0) continue;
                    // Only the upper triangle: acc[p, p..] += v · row[p..].
                    var target = acc.AsSpan(p * k + p, k - p);
                    TensorPrimitives.MultiplyAdd(row.AsSpan(p), v, target, target);
                }
            }
            partial[part] = acc;
        });
        foreach (var acc in partial) TensorPrimitives.Add(total, acc, total);
        for (int p = 0; p < k; p++)
            for (int q = p + 1; q < k; q++) total[q * k + p] = total[p * k + q];
        return total;
    }

    /// <summary>
    /// Reductions split the row blocks into this many contiguous partitions at most, whatever the machine: each is
    /// summed in row order and the partitions are added in order, so a sum is the same bits on every run, core
    /// count and deployment (a cluster's trainer and a single node fit the same model).
    /// </summary>
    private const int MaxPartitions = 16;

    private static int Partitions(int blocks) => Math.Clamp(blocks, 1, MaxPartitions);

    private static (int From, int To) PartitionRange(int blocks, int parts, int part) =>
        ((int)((long)blocks * part / parts), (int)((long)blocks * (part + 1) / parts));

    /// <summary><c>AᵀB</c> (p × q, fp64) for row-major n × p A and n × q B.</summary>
    public static double[] TransposeMultiply(float[] a, float[] b, int rows, int p, int q)
    {
        var total = new double[p * q];
        int blocks = (rows + RowBlock - 1) / RowBlock;
        int parts = Partitions(blocks);
        var partial = new float[parts][];
        Parallel.For(0, parts, part =>
        {
            var acc = new float[p * q];
            var (from, to) = PartitionRange(blocks, parts, part);
            for (int i = from * RowBlock, end = Math.Min(rows, to * RowBlock); i < end; i++)
            {
                var ar = a.AsSpan(i * p, p);
                var br = b.AsSpan(i * q, q);
                for (int x = 0; x < p; x++)
                {
                    float v = ar[x];
                    if (v == 0) continue;
                    var target = acc.AsSpan(x * q, q);
                    TensorPrimitives.MultiplyAdd(br, v, target, target);
                }
            }
            partial[part] = acc;
        });
        foreach (var acc in partial)
            for (int i = 0; i < acc.Length; i++) total[i] += acc[i];
        return total;
    }

    /// <summary><c>C = A·M</c> for a row-major n × k matrix A and a k × m matrix M (fp64, converted once); C is n × m.</summary>
    public static float[] MultiplySmall(float[] a, int rows, int k, double[] m, int columns)
    {
        var mf = new float[k * columns];
        for (int i = 0; i < mf.Length; i++) mf[i] = (float)m[i];
        var c = new float[(long)rows * columns > Array.MaxLength ? throw new InvalidOperationException("matrix too large") : rows * columns];
        Parallel.For(0, (rows + RowBlock - 1) / RowBlock, b =>
        {
            int end = Math.Min(rows, (b + 1) * RowBlock);
            for (int i = b * RowBlock; i < end; i++)
            {
                var src = a.AsSpan(i * k, k);
                var dst = c.AsSpan(i * columns, columns);
                for (int p = 0; p < k; p++)
                {
                    float v = src[p];
                    if (v != 0) TensorPrimitives.MultiplyAdd(mf.AsSpan(p * columns, columns), v, dst, dst);
                }
            }
        });
        return c;
    }

    /// <summary>
    /// Lower Cholesky factor L of a symmetric positive definite k × k matrix (<c>S = L·Lᵀ</c>), in place of a copy.
    /// A tiny relative jitter is added to the diagonal when a pivot is not positive (rank-deficient Gram matrices
    /// of random sketches), so the factor always exists.
    /// </summary>
    public static double[] Cholesky(double[] s, int k)
    {
        var l = (double[])s.Clone();
        double scale = 0;
        for (int i = 0; i < k; i++) scale = Math.Max(scale, Math.Abs(s[i * k + i]));
        double floor = Math.Max(scale, 1e-300) * 1e-12;
        for (int j = 0; j < k; j++)
        {
            double d = l[j * k + j];
            for (int p = 0; p < j; p++) d -= l[j * k + p] * l[j * k + p];
            if (!(d > floor)) d = floor;
            double root = Math.Sqrt(d);
            l[j * k + j] = root;
            for (int i = j + 1; i < k; i++)
            {
                double v = l[i * k + j];
                for (int p = 0; p < j; p++) v -= l[i * k + p] * l[j * k + p];
                l[i * k + j] = v / root;
            }
            for (int q = j + 1; q < k; q++) l[j * k + q] = 0;
        }
        return l;
    }

    /// <summary>Solves <c>S·X = B</c> for SPD S (k × k) given its Cholesky factor L; B is k × m (fp64), solved in place.</summary>
    public static void CholeskySolve(double[] l, int k, double[] b, int m)
    {
        // L·Y = B (forward), then Lᵀ·X = Y (backward), one right-hand side column at a time.
        var column = new double[k];
        for (int c = 0; c < m; c++)
        {
            for (int i = 0; i < k; i++) column[i] = b[i * m + c];
            for (int i = 0; i < k; i++)
            {
                double v = column[i];
                for (int p = 0; p < i; p++) v -= l[i * k + p] * column[p];
                column[i] = v / l[i * k + i];
            }
            for (int i = k - 1; i >= 0; i--)
            {
                double v = column[i];
                for (int p = i + 1; p < k; p++) v -= l[p * k + i] * column[p];
                column[i] = v / l[i * k + i];
            }
            for (int i = 0; i < k; i++) b[i * m + c] = column[i];
        }
    }

    /// <summary>Inverse of an upper-triangular matrix <c>R = Lᵀ</c> given L (so that <c>Y·R⁻¹</c> has orthonormal columns).</summary>
    public static double[] InverseOfTransposedFactor(double[] l, int k)
    {
        // R = Lᵀ is upper triangular; solve R·X = I column by column (back substitution).
        var inv = new double[k * k];
        for (int c = 0; c < k; c++)
        {
            for (int i = c; i >= 0; i--)
            {
                double v = i == c ? 1 : 0;
                for (int p = i + 1; p <= c; p++) v -= l[p * k + i] * inv[p * k + c];
                inv[i * k + c] = v / l[i * k + i];
            }
        }
        return inv;
    }

    /// <summary>
    /// Orthonormalises the columns of a tall n × k matrix in place (Cholesky-QR, applied twice: the second pass
    /// removes the loss of orthogonality the first leaves in fp32).
    /// </summary>
    public static void Orthonormalize(ref float[] a, int rows, int k)
    {
        // Shifted Cholesky-QR3 (Fukaya et al. 2020): the first pass adds a small shift to the Gram diagonal so the
        // factorisation exists however ill-conditioned the columns are; two plain passes then restore orthogonality.
        for (int pass = 0; pass < 3; pass++)
        {
            var gram = Gram(a, rows, k);
            if (pass == 0)
            {
                double max = 0;
                for (int i = 0; i < k; i++) max = Math.Max(max, gram[i * k + i]);
                double shift = 1e-6 * Math.Max(max, 1e-30);
                for (int i = 0; i < k; i++) gram[i * k + i] += shift;
            }
            var l = Cholesky(gram, k);
            a = MultiplySmall(a, rows, k, InverseOfTransposedFactor(l, k), k);
        }
    }

    /// <summary>
    /// Eigen-decomposition of a symmetric k × k matrix by cyclic Jacobi rotations: returns the eigenvalues in
    /// descending order and the eigenvectors as the columns of a row-major k × k matrix, in the same order.
    /// </summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] s, int k, int maxSweeps = 60)
    {
        var a = (double[])s.Clone();
        var v = new double[k * k];
        for (int i = 0; i < k; i++) v[i * k + i] = 1;
        double norm = 0;
        for (int i = 0; i < a.Length; i++) norm += a[i] * a[i];
        if (!double.IsFinite(norm)) throw new ArithmeticException("the matrix to decompose holds NaN or infinity");
        double tolerance = Math.Max(norm, 1e-300) * 1e-26;
        for (int sweep = 0; sweep < maxSweeps; sweep++)
        {
            double off = 0;
            for (int p = 0; p < k; p++)
                for (int q = p + 1; q < k; q++) off += a[p * k + q] * a[p * k + q];
            if (off < tolerance) break;
            for (int p = 0; p < k - 1; p++)
            {
                for (int q = p + 1; q < k; q++)
                {
                    double apq = a[p * k + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double app = a[p * k + p], aqq = a[q * k + q];
                    double theta = (aqq - app) / (2 * apq);
                    double t = theta == 0 ? 1 : (theta > 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), sn = t * c;
                    // Rows p and q, then columns p and q (the matrix stays symmetric).
                    for (int r = 0; r < k; r++)
                    {
                        double arp = a[r * k + p], arq = a[r * k + q];
                        a[r * k + p] = c * arp - sn * arq;
                        a[r * k + q] = sn * arp + c * arq;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double apr = a[p * k + r], aqr = a[q * k + r];
                        a[p * k + r] = c * apr - sn * aqr;
                        a[q * k + r] = sn * apr + c * aqr;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double vrp = v[r * k + p], vrq = v[r * k + q];
                        v[r * k + p] = c * vrp - sn * vrq;
                        v[r * k + q] = sn * vrp + c * vrq;
                    }
                }
            }
        }
        var order = new int[k];
        for (int i = 0; i < k; i++) order[i] = i;
        Array.Sort(order, (x, y) => a[y * k + y].CompareTo(a[x * k + x]));
        var values = new double[k];
        var vectors = new double[k * k];
        for (int j = 0; j < k; j++)
        {
            values[j] = a[order[j] * k + order[j]];
            for (int r = 0; r < k; r++) vectors[r * k + j] = v[r * k + order[j]];
        }
        return (values, vectors);
    }
}
