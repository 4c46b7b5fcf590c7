using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MlPlatform.MnistTrainer;

/// <summary>
/// Dot products and axpy on fixed 8-lane vectors. A fixed width (rather than Vector&lt;T&gt;, whose
/// width depends on the CPU) and a fixed lane-summing order keep results bit-identical across machines.
/// </summary>
internal static class VectorMath
{
    private const int Lanes = 8;

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("Spans differ in length.", nameof(b));
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= a.Length - (2 * Lanes); i += 2 * Lanes)
        {
            acc0 += Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i);
            acc1 += Vector256.LoadUnsafe(ref ra, (nuint)(i + Lanes)) * Vector256.LoadUnsafe(ref rb, (nuint)(i + Lanes));
        }

        if (i <= a.Length - Lanes)
        {
            acc0 += Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i);
            i += Lanes;
        }

        var sum = SumLanes(acc0 + acc1);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>y += alpha * x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException("Spans differ in length.", nameof(y));
        }

        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        var a = Vector256.Create(alpha);
        var i = 0;
        for (; i <= x.Length - Lanes; i += Lanes)
        {
            (Vector256.LoadUnsafe(ref ry, (nuint)i) + (a * Vector256.LoadUnsafe(ref rx, (nuint)i))).StoreUnsafe(ref ry, (nuint)i);
        }

        for (; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>y += x.</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException("Spans differ in length.", nameof(y));
        }

        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        var i = 0;
        for (; i <= x.Length - Lanes; i += Lanes)
        {
            (Vector256.LoadUnsafe(ref ry, (nuint)i) + Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }

        for (; i < x.Length; i++)
        {
            y[i] += x[i];
        }
    }

    public static float Sum(ReadOnlySpan<float> x)
    {
        ref var rx = ref MemoryMarshal.GetReference(x);
        var acc = Vector256<float>.Zero;
        var i = 0;
        for (; i <= x.Length - Lanes; i += Lanes)
        {
            acc += Vector256.LoadUnsafe(ref rx, (nuint)i);
        }

        var sum = SumLanes(acc);
        for (; i < x.Length; i++)
        {
            sum += x[i];
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumLanes(Vector256<float> v)
    {
        // Pairwise in a fixed order; Vector256.Sum may use a different order on different hardware.
        var lo = v.GetLower() + v.GetUpper();
        return (lo.GetElement(0) + lo.GetElement(2)) + (lo.GetElement(1) + lo.GetElement(3));
    }
}
