using System.Buffers;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// request-transformer on a <c>multipart/form-data</c> body, as Kong's transform_multipart_body does it with
/// lua-multipart: rename, then remove, replace and add (multipart has no append); a part renamed or set by the plugin
/// becomes a plain <c>Content-Disposition: form-data; name="..."</c> part (a renamed file part loses its filename and
/// type, as in Kong); replace drops every part of the name and adds one at the end; the parts nothing touched are copied
/// byte for byte; a body left with no part is empty.
/// </summary>
/// <remarks>
/// A body without a boundary in its Content-Type, or that is not a CRLF-delimited multipart body ending in its close
/// delimiter, is left as it was: lua-multipart would read what it could and Kong would send it on with a boundary of its
/// own that the Content-Type does not name.
/// </remarks>
internal static class MultipartBodyTransform
{
    /// <summary>Writes the transformed body to <paramref name="output"/> and returns true, or returns false when the body stays as it is.</summary>
    public static bool TryTransform(ReadOnlyMemory<byte> body, string contentType, TransformSet transforms, IBufferWriter<byte> output)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary) is not { Length: > 0 } boundarySegment)
        {
            return false;
        }

        var boundary = Encoding.UTF8.GetBytes(boundarySegment.ToString());
        var parts = new List<Part?>();
        if (!body.IsEmpty && !TryParse(body, boundary, parts))
        {
            return false;
        }

        var changed = false;
        foreach (var pair in transforms.Rename)
        {
            if (pair.Name != pair.Value && First(parts, pair.Name) is { } index)
            {
                var value = parts[index]!.Value(body);
                SetSimple(parts, pair.Value, new Part(pair.Value, value));
                DeleteAll(parts, pair.Name);
                changed = true;
            }
        }

        foreach (var name in transforms.Remove)
        {
            changed |= DeleteAll(parts, name);
        }

        foreach (var pair in transforms.Replace)
        {
            if (DeleteAll(parts, pair.Name))
            {
                parts.Add(new Part(pair.Name, Encoding.UTF8.GetBytes(pair.Value)));
                changed = true;
            }
        }

        foreach (var pair in transforms.Add)
        {
            if (First(parts, pair.Name) is null)
            {
                parts.Add(new Part(pair.Name, Encoding.UTF8.GetBytes(pair.Value)));
                changed = true;
            }
        }

        if (!changed)
        {
            return false;
        }

        Write(body.Span, boundary, parts, output);
        return true;
    }

    /// <summary>
    /// One part: either as it came (<see cref="RawStart"/>..<see cref="RawEnd"/> is its header lines, the blank line and
    /// its value) or a plain one the plugin made.
    /// </summary>
    private sealed class Part
    {
        public Part(string? name, int rawStart, int rawEnd, int valueStart)
        {
            Name = name;
            RawStart = rawStart;
            RawEnd = rawEnd;
            ValueStart = valueStart;
        }

        public Part(string name, ReadOnlyMemory<byte> simpleValue)
        {
            Name = name;
            SimpleValue = simpleValue;
            RawStart = -1;
        }

        public string? Name { get; }

        public int RawStart { get; }

        public int RawEnd { get; }

        public int ValueStart { get; }

        public ReadOnlyMemory<byte> SimpleValue { get; }

        public bool IsRaw => RawStart >= 0;

        public ReadOnlyMemory<byte> Value(ReadOnlyMemory<byte> body) => IsRaw ? body[ValueStart..RawEnd] : SimpleValue;
    }

    private static bool TryParse(ReadOnlyMemory<byte> memory, byte[] boundary, List<Part?> parts)
    {
        var body = memory.Span;
        ReadOnlySpan<byte> dashes = "--"u8;

        // The first delimiter may open the body or follow a preamble that ends in CRLF; later ones all follow a CRLF.
        var position = StartsWithDelimiter(body, boundary) ? 0 : IndexOfDelimiter(body, 0, boundary);
        if (position < 0)
        {
            return false;
        }

        while (true)
        {
            position += dashes.Length + boundary.Length;
            if (body[position..].StartsWith(dashes))
            {
                return true;
            }

            // Transport padding, then the CRLF that ends the delimiter line.
            while (position < body.Length && body[position] is (byte)' ' or (byte)'\t')
            {
                position++;
            }

            if (!body[position..].StartsWith("\r\n"u8))
            {
                return false;
            }

            var start = position + 2;
            var next = IndexOfDelimiter(body, start, boundary);
            if (next < 0)
            {
                return false;
            }

            // The part ends at the CRLF before the next delimiter; its headers end at the first blank line.
            var end = next - 2;
            var content = body[start..end];
            int valueStart;
            string? name = null;
            if (content.StartsWith("\r\n"u8))
            {
                valueStart = start + 2;
            }
            else
            {
                var headersEnd = content.IndexOf("\r\n\r\n"u8);
                if (headersEnd < 0)
                {
                    return false;
                }

                valueStart = start + headersEnd + 4;
                name = NameOf(content[..headersEnd]);
            }

            parts.Add(new Part(name, start, end, valueStart));
            position = next;
        }
    }

    /// <summary>The <c>name</c> of a part's Content-Disposition, the field lua-multipart indexes parts by.</summary>
    private static string? NameOf(ReadOnlySpan<byte> headerLines)
    {
        foreach (var line in Encoding.UTF8.GetString(headerLines).Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(HeaderNames.ContentDisposition, StringComparison.OrdinalIgnoreCase)
                && ContentDispositionHeaderValue.TryParse(line[(colon + 1)..].Trim(), out var disposition)
                && disposition.Name.HasValue)
            {
                return HeaderUtilities.RemoveQuotes(disposition.Name).ToString();
            }
        }

        return null;
    }

    private static bool StartsWithDelimiter(ReadOnlySpan<byte> body, byte[] boundary) =>
        body.StartsWith("--"u8) && body[2..].StartsWith(boundary);

    /// <summary>Where the next <c>CRLF--boundary</c> has its dashes, from <paramref name="from"/>.</summary>
    private static int IndexOfDelimiter(ReadOnlySpan<byte> body, int from, byte[] boundary)
    {
        var at = from;
        while (at < body.Length)
        {
            var found = body[at..].IndexOf("\r\n--"u8);
            if (found < 0)
            {
                return -1;
            }

            var dashes = at + found + 2;
            if (body[(dashes + 2)..].StartsWith(boundary))
            {
                return dashes;
            }

            at = dashes;
        }

        return -1;
    }

    private static int? First(List<Part?> parts, string name)
    {
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i]?.Name == name)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>lua-multipart's delete: every part of the name.</summary>
    private static bool DeleteAll(List<Part?> parts, string name)
    {
        var deleted = false;
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i]?.Name == name)
            {
                parts[i] = null;
                deleted = true;
            }
        }

        return deleted;
    }

    /// <summary>lua-multipart's set_simple: in place of the first part of the name, else at the end.</summary>
    private static void SetSimple(List<Part?> parts, string name, Part part)
    {
        if (First(parts, name) is { } index)
        {
            parts[index] = part;
        }
        else
        {
            parts.Add(part);
        }
    }

    /// <summary>lua-multipart's encode: each part after <c>--boundary CRLF</c> and before a CRLF, then the close delimiter; no part, no body.</summary>
    private static void Write(ReadOnlySpan<byte> body, byte[] boundary, List<Part?> parts, IBufferWriter<byte> output)
    {
        var any = false;
        foreach (var part in parts)
        {
            if (part is null)
            {
                continue;
            }

            any = true;
            output.Write("--"u8);
            output.Write(boundary);
            output.Write("\r\n"u8);
            if (part.IsRaw)
            {
                output.Write(body[part.RawStart..part.RawEnd]);
            }
            else
            {
                output.Write("Content-Disposition: form-data; name=\""u8);
                Encoding.UTF8.GetBytes(part.Name!, output);
                output.Write("\"\r\n\r\n"u8);
                output.Write(part.SimpleValue.Span);
            }

            output.Write("\r\n"u8);
        }

        if (any)
        {
            output.Write("--"u8);
            output.Write(boundary);
            output.Write("--\r\n"u8);
        }
    }
}
