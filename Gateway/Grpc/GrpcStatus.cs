using System.Text;

namespace MlPlatform.Gateway.Grpc;

/// <summary>The gRPC status codes the gateway answers with itself (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).</summary>
public enum GrpcStatusCode
{
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

/// <summary>
/// A gRPC answer the gateway gives itself: HTTP 200, <c>application/grpc</c> and, trailers-only, <c>grpc-status</c> and
/// <c>grpc-message</c> in the one HEADERS frame that ends the stream, as gRPC servers answer a call they refuse. The
/// response headers already set (<c>X-Request-Id</c>, the rate-limit headers, <c>Retry-After</c>) go in the same frame,
/// so a client reads them as the call's trailers.
/// </summary>
public static class GrpcStatus
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";

    // The codes as header values, made once.
    private static readonly string[] CodeText = [.. Enumerable.Range(0, 17).Select(code => code.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Writes the status; nothing else of the response may be written after it.</summary>
    public static Task WriteAsync(HttpContext context, GrpcStatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers[StatusHeader] = CodeText[(int)code];
        response.Headers[MessageHeader] = Encode(message);
        // Completing with no body makes Kestrel end the stream with the headers, rather than send an empty DATA frame.
        return response.CompleteAsync();
    }

    /// <summary>
    /// <c>grpc-message</c> is percent-encoded UTF-8: the spec keeps printable ASCII but <c>%</c> as it is. The gateway's
    /// own messages are all printable, and pass without a copy.
    /// </summary>
    internal static string Encode(string message)
    {
        var plain = true;
        foreach (var c in message)
        {
            if (c is < ' ' or > '~' or '%')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            return message;
        }

        var encoded = new StringBuilder(message.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= (byte)' ' and <= (byte)'~' and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }
}
