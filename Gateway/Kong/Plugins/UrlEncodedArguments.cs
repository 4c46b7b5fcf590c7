using System.Buffers;
using System.Text;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// A query string or an <c>application/x-www-form-urlencoded</c> body as nginx's <c>ngx.decode_args</c> reads it and
/// <c>ngx.encode_args</c> writes it back: arguments split at <c>&amp;</c>, a name without <c>=</c> a flag, an empty
/// name dropped, a repeated name one argument with several values, <c>+</c> a space. Names are matched decoded and
/// case-sensitively, as Kong's Lua tables match them.
/// </summary>
/// <remarks>
/// Values are kept as nginx re-encodes them (every byte but <c>A-Z a-z 0-9 - . _ ~</c> as <c>%XX</c>), byte for
/// byte, so a value that is not UTF-8 goes on unchanged; only names are decoded to text, to be compared.
/// Arguments past nginx's 100 are kept, where Kong would silently drop them.
/// </remarks>
internal sealed class UrlEncodedArguments
{
    private const int StackBufferBytes = 512;
    private const string HexDigits = "0123456789ABCDEF";

    /// <summary>In arrival order; a removed argument leaves a null so that indexes in <see cref="_indexByName"/> stay right.</summary>
    private readonly List<Argument?> _arguments = [];
    private readonly Dictionary<string, int> _indexByName = new(StringComparer.Ordinal);

    private sealed class Argument(string name, string encodedName)
    {
        public string Name { get; set; } = name;

        public string EncodedName { get; set; } = encodedName;

        /// <summary>Encoded values in order; null is a flag (a name with no <c>=</c>).</summary>
        public List<string?> EncodedValues { get; set; } = [];
    }

    public int Count => _indexByName.Count;

    public static UrlEncodedArguments Parse(string query)
    {
        // QueryString keeps its '?'; the rest is what the client sent, to be read as bytes like a body.
        var text = query.AsSpan(query.StartsWith('?') ? 1 : 0);
        if (text.IsEmpty)
        {
            return new UrlEncodedArguments();
        }

        byte[]? rented = null;
        var maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> bytes = maxBytes <= StackBufferBytes ? stackalloc byte[StackBufferBytes] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, bytes);
            return Parse(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static UrlEncodedArguments Parse(ReadOnlySpan<byte> encoded)
    {
        var arguments = new UrlEncodedArguments();
        if (encoded.IsEmpty)
        {
            return arguments;
        }

        // A segment decodes to no more bytes than it has, so one buffer of the whole input holds any name and value.
        byte[]? rented = null;
        Span<byte> decoded = encoded.Length <= StackBufferBytes ? stackalloc byte[StackBufferBytes] : (rented = ArrayPool<byte>.Shared.Rent(encoded.Length));
        try
        {
            while (!encoded.IsEmpty)
            {
                var ampersand = encoded.IndexOf((byte)'&');
                var segment = ampersand < 0 ? encoded : encoded[..ampersand];
                encoded = ampersand < 0 ? [] : encoded[(ampersand + 1)..];

                var equals = segment.IndexOf((byte)'=');
                var rawName = equals < 0 ? segment : segment[..equals];
                if (rawName.IsEmpty)
                {
                    continue;
                }

                var nameLength = Unescape(rawName, decoded);
                var nameBytes = decoded[..nameLength];
                var name = Encoding.UTF8.GetString(nameBytes);
                string? encodedValue = null;
                if (equals >= 0)
                {
                    var valueLength = Unescape(segment[(equals + 1)..], decoded[nameLength..]);
                    encodedValue = Escape(decoded.Slice(nameLength, valueLength));
                }

                if (arguments._indexByName.TryGetValue(name, out var index))
                {
                    arguments._arguments[index]!.EncodedValues.Add(encodedValue);
                }
                else
                {
                    var argument = new Argument(name, Escape(nameBytes));
                    argument.EncodedValues.Add(encodedValue);
                    arguments.Append(argument);
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return arguments;
    }

    /// <summary>Kong's <c>tbl[name] = nil</c>; true when there was one.</summary>
    public bool Remove(string name)
    {
        if (!_indexByName.Remove(name, out var index))
        {
            return false;
        }

        _arguments[index] = null;
        return true;
    }

    /// <summary>Kong's rename: every value moves to the new name, over whatever the new name had.</summary>
    public bool Rename(TransformPair pair)
    {
        if (pair.Name == pair.Value || !_indexByName.Remove(pair.Name, out var index))
        {
            return false;
        }

        Remove(pair.Value);
        var argument = _arguments[index]!;
        argument.Name = pair.Value;
        argument.EncodedName = pair.EncodedValue;
        _indexByName[pair.Value] = index;
        return true;
    }

    /// <summary>Only when present; every value gives way to the one.</summary>
    public bool Replace(TransformPair pair)
    {
        if (!_indexByName.TryGetValue(pair.Name, out var index))
        {
            return false;
        }

        _arguments[index]!.EncodedValues = [pair.EncodedValue];
        return true;
    }

    /// <summary>Only when absent.</summary>
    public bool Add(TransformPair pair)
    {
        if (_indexByName.ContainsKey(pair.Name))
        {
            return false;
        }

        var argument = new Argument(pair.Name, pair.EncodedName);
        argument.EncodedValues.Add(pair.EncodedValue);
        Append(argument);
        return true;
    }

    /// <summary>
    /// Kong's append_value: a value after the ones there, or the first one. A lone flag is not a value to Kong (its
    /// Lua <c>true</c> is neither a string nor a table), so it gives way to the appended value.
    /// </summary>
    public void Append(TransformPair pair)
    {
        if (!_indexByName.TryGetValue(pair.Name, out var index))
        {
            Add(pair);
            return;
        }

        var values = _arguments[index]!.EncodedValues;
        if (values is [null])
        {
            values[0] = pair.EncodedValue;
        }
        else
        {
            values.Add(pair.EncodedValue);
        }
    }

    /// <summary>Every value of <paramref name="other"/> after this one's of the same name, as http_method's GET puts a form body into the query.</summary>
    public void Merge(UrlEncodedArguments other)
    {
        foreach (var argument in other._arguments)
        {
            if (argument is null)
            {
                continue;
            }

            if (_indexByName.TryGetValue(argument.Name, out var index))
            {
                _arguments[index]!.EncodedValues.AddRange(argument.EncodedValues);
            }
            else
            {
                var copy = new Argument(argument.Name, argument.EncodedName);
                copy.EncodedValues.AddRange(argument.EncodedValues);
                Append(copy);
            }
        }
    }

    /// <summary>
    /// The arguments encoded, in arrival order, or (<paramref name="sortedByName"/>) as Kong's set_query writes them:
    /// each name's run of <c>name=value</c> sorted as a whole, byte by byte.
    /// </summary>
    public string ToEncodedString(bool sortedByName)
    {
        var runs = new List<string>(Count);
        var builder = new StringBuilder();
        foreach (var argument in _arguments)
        {
            if (argument is null)
            {
                continue;
            }

            builder.Clear();
            AppendRun(builder, argument);
            runs.Add(builder.ToString());
        }

        if (sortedByName)
        {
            runs.Sort(StringComparer.Ordinal);
        }

        return string.Join('&', runs);
    }

    /// <summary>The arguments encoded, in arrival order, as a body.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        var first = true;
        foreach (var argument in _arguments)
        {
            if (argument is null)
            {
                continue;
            }

            foreach (var value in argument.EncodedValues)
            {
                if (!first)
                {
                    output.Write("&"u8);
                }

                first = false;
                Encoding.ASCII.GetBytes(argument.EncodedName, output);
                if (value is not null)
                {
                    output.Write("="u8);
                    Encoding.ASCII.GetBytes(value, output);
                }
            }
        }
    }

    /// <summary>nginx's ngx.escape_uri of a URI component: every byte but the unreserved ones as <c>%XX</c>.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var length = 0;
        foreach (var b in bytes)
        {
            length += IsUnreserved(b) ? 1 : 3;
        }

        if (length == bytes.Length)
        {
            return Encoding.ASCII.GetString(bytes);
        }

        char[]? rented = null;
        Span<char> chars = length <= StackBufferBytes ? stackalloc char[StackBufferBytes] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            var at = 0;
            foreach (var b in bytes)
            {
                if (IsUnreserved(b))
                {
                    chars[at++] = (char)b;
                }
                else
                {
                    chars[at++] = '%';
                    chars[at++] = HexDigits[b >> 4];
                    chars[at++] = HexDigits[b & 0xF];
                }
            }

            return new string(chars[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    public static string Escape(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Escape(bytes);
    }

    private void Append(Argument argument)
    {
        _indexByName[argument.Name] = _arguments.Count;
        _arguments.Add(argument);
    }

    private static void AppendRun(StringBuilder builder, Argument argument)
    {
        for (var i = 0; i < argument.EncodedValues.Count; i++)
        {
            if (i > 0)
            {
                builder.Append('&');
            }

            builder.Append(argument.EncodedName);
            if (argument.EncodedValues[i] is { } value)
            {
                builder.Append('=').Append(value);
            }
        }
    }

    /// <summary>nginx's unescape of a URI component: <c>+</c> a space, a well-formed <c>%XX</c> its byte, anything else as it is.</summary>
    private static int Unescape(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var written = 0;
        for (var i = 0; i < source.Length; i++)
        {
            var b = source[i];
            if (b == '+')
            {
                destination[written++] = (byte)' ';
            }
            else if (b == '%' && i + 2 < source.Length && HexValue(source[i + 1]) is >= 0 and var high && HexValue(source[i + 2]) is >= 0 and var low)
            {
                destination[written++] = (byte)((high << 4) | low);
                i += 2;
            }
            else
            {
                destination[written++] = b;
            }
        }

        return written;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static bool IsUnreserved(byte b) =>
        b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';
}
