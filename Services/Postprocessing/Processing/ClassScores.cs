using System.Buffers.Binary;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Postprocessing.Processing;

/// <summary>The arithmetic of one row of class scores: widening, softmax, top-k. No allocation per element.</summary>
internal static class ClassScores
{
    /// <summary>Up to this k, top-k keeps a sorted list of k and looks at each score once; past it a full sort is cheaper.</summary>
    internal const int InsertionLimit = 32;

    /// <summary>Widens one row of raw little-endian FP16, FP32 or FP64 scores to doubles.</summary>
    public static void Read(ReadOnlySpan<byte> row, TensorDataType dataType, Span<double> destination)
    {
        switch (dataType)
        {
            case TensorDataType.Fp16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (double)BinaryPrimitives.ReadHalfLittleEndian(row[(i * sizeof(short))..]);
                }

                break;
            case TensorDataType.Fp32:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(row[(i * sizeof(float))..]);
                }

                break;
            case TensorDataType.Fp64:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadDoubleLittleEndian(row[(i * sizeof(double))..]);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "Only FP16, FP32 and FP64 rows hold class scores.");
        }
    }

    /// <summary>
    /// The first score that cannot become a prediction: NaN always; an infinity when the scores are
    /// ranked as they are (JSON has no number for it), +Infinity when they are logits (softmax of it is undefined).
    /// </summary>
    /// <returns>The index of that score, or -1 when every score is usable.</returns>
    public static int IndexOfUnusable(ReadOnlySpan<double> scores, bool logits)
    {
        for (var i = 0; i < scores.Length; i++)
        {
            var score = scores[i];
            if (double.IsNaN(score) || (double.IsInfinity(score) && (!logits || score > 0)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Turns logits into probabilities in place, subtracting the largest first so no exponent overflows.</summary>
    /// <returns>False when no logit is finite (all -Infinity), so there is no distribution to give.</returns>
    public static bool TrySoftmax(Span<double> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var logit in logits)
        {
            max = Math.Max(max, logit);
        }

        if (double.IsNegativeInfinity(max))
        {
            return false;
        }

        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            var e = Math.Exp(logits[i] - max);
            logits[i] = e;
            sum += e;
        }

        // The largest logit contributes exp(0) = 1, so the sum is at least 1 and the division is safe.
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] /= sum;
        }

        return true;
    }

    /// <summary>Rounds scores to single precision, so ranking and ties follow the values the response reports.</summary>
    public static void RoundToSingle(Span<double> scores)
    {
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = (float)scores[i];
        }
    }

    /// <summary>
    /// Fills <paramref name="top"/> with the indices of the <c>top.Length</c> highest scores, highest first;
    /// equal scores keep the lower index first.
    /// </summary>
    /// <param name="scores">The scores; only the first <paramref name="count"/> are read.</param>
    /// <param name="order">Scratch space for at least <paramref name="count"/> indices, used when k is above <see cref="InsertionLimit"/>.</param>
    public static void SelectTopK(double[] scores, int count, Span<int> top, Span<int> order)
    {
        if (top.Length <= InsertionLimit)
        {
            SelectByInsertion(scores.AsSpan(0, count), top);
            return;
        }

        order = order[..count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        order.Sort(new DescendingScore(scores));
        order[..top.Length].CopyTo(top);
    }

    private static void SelectByInsertion(ReadOnlySpan<double> scores, Span<int> top)
    {
        var k = top.Length;
        var filled = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var score = scores[i];

            // Indices arrive in ascending order, so a score equal to the last kept one loses the tie.
            if (filled == k && !(score > scores[top[k - 1]]))
            {
                continue;
            }

            var position = filled < k ? filled++ : k - 1;
            while (position > 0 && scores[top[position - 1]] < score)
            {
                top[position] = top[position - 1];
                position--;
            }

            top[position] = i;
        }
    }

    /// <summary>Higher score first, then lower index: a total order, so an unstable sort gives one answer.</summary>
    private readonly struct DescendingScore(double[] scores) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            var a = scores[x];
            var b = scores[y];
            return a > b ? -1 : a < b ? 1 : x.CompareTo(y);
        }
    }
}
