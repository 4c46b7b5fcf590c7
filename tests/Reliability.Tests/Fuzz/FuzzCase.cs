using System.Text;

namespace MlPlatform.Reliability.Tests.Fuzz;

/// <summary>How a case goes on the wire.</summary>
internal enum FuzzTransport
{
    /// <summary>HttpClient, path sent exactly as written (no dot-segment removal, no unescaping).</summary>
    Client,

    /// <summary>Bytes written to a socket as they are, for what HttpClient refuses to send (bad framing, non-ASCII headers).</summary>
    Raw,

    /// <summary>A socket whose body trickles in and then stops, the connection left open.</summary>
    Slow,
}

/// <summary>
/// One malformed (or, now and then, well-formed) request of the fuzz run, complete enough to be sent again by hand:
/// <see cref="Describe"/> is what a failure prints.
/// </summary>
internal sealed record FuzzCase(int Index, string Category, string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, FuzzTransport Transport)
{
    /// <summary>For <see cref="FuzzTransport.Raw"/>: the whole request, framing included; Method/Target/Headers/Body only describe it.</summary>
    public byte[]? RawBytes { get; init; }

    /// <summary>The status the gateway must answer, when it is certain (a missing key on a well-formed request); null: any non-5xx.</summary>
    public int? ExpectedStatus { get; init; }

    /// <summary>Statuses that are all acceptable, for cases with several right answers (huge headers: 431 or 400).</summary>
    public int[]? ExpectedStatuses { get; init; }

    /// <summary>The server may close the connection instead of answering (a slow body it gave up on, a body it refused unread).</summary>
    public bool MayCloseWithoutAnswer { get; init; }

    public string Describe()
    {
        var text = new StringBuilder();
        text.Append('#').Append(Index).Append(" [").Append(Category).Append("] ").Append(Transport).Append(": ")
            .Append(Method).Append(' ').Append(Shorten(Target, 300));
        foreach (var (name, value) in Headers)
        {
            text.Append(Environment.NewLine).Append("    ").Append(name).Append(": ").Append(Shorten(value, 200));
        }

        text.Append(Environment.NewLine).Append("    body (").Append(Body.Length).Append(" bytes): ").Append(Printable(Body, 200));
        if (RawBytes is not null)
        {
            text.Append(Environment.NewLine).Append("    raw request (").Append(RawBytes.Length).Append(" bytes): ").Append(Printable(RawBytes, 400));
        }

        return text.ToString();
    }

    private static string Shorten(string text, int length) =>
        text.Length <= length ? text : $"{text[..length]}… ({text.Length} chars)";

    /// <summary>A prefix of a body as C#-escaped text, so it can be pasted into a test.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes, int length)
    {
        var text = new StringBuilder("\"");
        foreach (var b in bytes[..Math.Min(length, bytes.Length)])
        {
            text.Append(b switch
            {
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        text.Append('"');
        if (bytes.Length > length)
        {
            text.Append("…");
        }

        return text.ToString();
    }
}
