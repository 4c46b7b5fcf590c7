namespace MlPlatform.Contracts.Protocol;

public static class TensorShape
{
    /// <summary>
    /// The number of elements a shape holds. False when a dimension is negative or the product
    /// does not fit in an <see cref="int"/>-addressable buffer, which no client may send.
    /// </summary>
    public static bool TryGetElementCount(ReadOnlySpan<long> shape, out long count)
    {
        count = 1;
        foreach (var dimension in shape)
        {
            // Checked before multiplying, so the product can never wrap past long.MaxValue.
            if (dimension < 0 || dimension > Array.MaxLength)
            {
                count = 0;
                return false;
            }

            count *= dimension;
            if (count > Array.MaxLength)
            {
                count = 0;
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats a shape as the protocol writes it, for messages: <c>[1, 3, 224, 224]</c>.</summary>
    public static string Format(ReadOnlySpan<long> shape)
    {
        var parts = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return "[" + string.Join(", ", parts) + "]";
    }
}
