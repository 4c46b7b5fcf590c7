using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>The key every export must carry in <see cref="HeaderName"/>.</summary>
internal sealed class OtlpApiKey(string key)
{
    public const string HeaderName = "x-otlp-api-key";

    // Compared as SHA-256 digests: equal lengths, so the comparison time says nothing about the key, not even its length.
    private readonly byte[] _digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Matches(StringValues values)
    {
        if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(values[0]!), digest);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }
}

/// <summary>
/// Refuses every request without the key before its body is read, then notes gRPC calls that
/// Grpc.AspNetCore refused itself (too large, malformed), which never reach a service method.
/// </summary>
internal sealed class OtlpApiKeyMiddleware(RequestDelegate next, OtlpApiKey key, OtlpRejections rejections, DashboardOptions options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var isGrpc = OtlpGrpc.IsGrpcRequest(context.Request);
        if (!key.Matches(context.Request.Headers[OtlpApiKey.HeaderName]))
        {
            var missing = StringValues.IsNullOrEmpty(context.Request.Headers[OtlpApiKey.HeaderName]);
            var reason = missing ? $"no {OtlpApiKey.HeaderName} header" : $"wrong {OtlpApiKey.HeaderName} header";
            rejections.Report(context, isGrpc ? "gRPC" : "HTTP", reason);
            var detail = missing
                ? $"Send the dashboard's OTLP API key in the {OtlpApiKey.HeaderName} header (OTEL_EXPORTER_OTLP_HEADERS={OtlpApiKey.HeaderName}=<key>)."
                : $"The {OtlpApiKey.HeaderName} header does not carry this dashboard's OTLP API key.";
            await OtlpBody.DrainAsync(context, options.Limits.MaxExportBytes);
            if (isGrpc)
            {
                OtlpGrpc.WriteStatus(context, Grpc.Core.StatusCode.Unauthenticated, detail);
            }
            else
            {
                await OtlpHttpEndpoints.Problem(StatusCodes.Status401Unauthorized, "OTLP API key missing or wrong", detail).ExecuteAsync(context);
            }

            return;
        }

        if (isGrpc && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            // Kestrel's limit (MaxExportBytes) would otherwise trip inside Grpc.AspNetCore when an
            // oversized message is already buffered, and the client would get UNKNOWN. Grpc's own
            // MaxReceiveMessageSize (the same cap) then answers RESOURCE_EXHAUSTED from the frame's length.
            sizeLimit.MaxRequestBodySize = OtlpBody.DrainLimit(options.Limits.MaxExportBytes);
        }

        await next(context);

        if (isGrpc && OtlpGrpc.ReadStatus(context) is { } status && status.StatusCode != Grpc.Core.StatusCode.OK)
        {
            rejections.Report(context, "gRPC", $"{status.StatusCode}: {status.Detail}");
            // Grpc.AspNetCore refuses an oversized message after reading only its length; its answer
            // is not sent until this returns, so the client can finish uploading and read it.
            if (!context.Response.HasStarted)
            {
                await OtlpBody.DrainAsync(context, options.Limits.MaxExportBytes);
            }
        }
    }
}

/// <summary>What to do with the body of a refused export.</summary>
internal static class OtlpBody
{
    /// <summary>
    /// How much of a refused body is read: four exports, and at least more than an HTTP/2 stream
    /// window (768 KiB in Kestrel), so a first read never trips the limit.
    /// </summary>
    public static long DrainLimit(int maxExportBytes) => Math.Max(4L * maxExportBytes, 1024 * 1024);

    /// <summary>
    /// Reads and discards what is left of a refused request's body, up to
    /// <see cref="DrainLimit"/>. Answering while the client is still uploading makes the
    /// server close the stream, and the client then sees a reset (which exporters retry) instead of
    /// the refusal (which they do not). Past the bound, or if the client goes away, it stops quietly.
    /// </summary>
    public static async Task DrainAsync(HttpContext context, int maxExportBytes)
    {
        var limit = DrainLimit(maxExportBytes);
        if (context.Request.ContentLength > limit)
        {
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = limit;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long total = 0;
            int read;
            while (total <= limit && (read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                total += read;
            }
        }
        catch (Exception exception) when (exception is BadHttpRequestException or IOException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
