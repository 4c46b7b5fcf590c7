using System.Buffers;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Collector.Trace.V1;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>
/// OTLP/HTTP: <c>POST /v1/traces</c>, <c>/v1/logs</c> and <c>/v1/metrics</c> with a protobuf
/// (<c>application/x-protobuf</c>) or OTLP/JSON (<c>application/json</c>) body, optionally gzip.
/// Every refusal is a problem response naming what was wrong; none is a 500.
/// </summary>
internal static class OtlpHttpEndpoints
{
    public const string ProtobufContentType = "application/x-protobuf";
    public const string JsonContentType = "application/json";

    private enum BodyFormat
    {
        Protobuf,
        Json,
    }

    public static IEndpointRouteBuilder MapOtlpHttp(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/traces", (HttpContext context, TelemetryStore store, OtlpRejections rejections) =>
            ExportAsync(context, rejections, "traces", ExportTraceServiceRequest.Parser, request => store.AddTraces(request)));
        endpoints.MapPost("/v1/logs", (HttpContext context, TelemetryStore store, OtlpRejections rejections) =>
            ExportAsync(context, rejections, "logs", ExportLogsServiceRequest.Parser, request => store.AddLogs(request)));
        endpoints.MapPost("/v1/metrics", (HttpContext context, TelemetryStore store, OtlpRejections rejections) =>
            ExportAsync(context, rejections, "metrics", ExportMetricsServiceRequest.Parser, request => Report(store.AddMetrics(request), store, rejections)));
        return endpoints;
    }

    /// <summary>Says once that the stream cap was reached, and once per instrument that it is not charted.</summary>
    public static void Report(MetricAddResult result, TelemetryStore store, OtlpRejections rejections)
    {
        if (result.StreamCapReached)
        {
            rejections.MetricStreamCapReached(store.Limits.MaxMetricStreams);
        }

        if (result.UnsupportedInstruments.Count > 0)
        {
            rejections.UnsupportedInstruments(result.UnsupportedInstruments);
        }
    }

    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    private static async Task<IResult> ExportAsync<T>(HttpContext context, OtlpRejections rejections, string signal, MessageParser<T> parser, Action<T> store)
        where T : IMessage<T>, new()
    {
        var request = context.Request;
        var maxBytes = context.RequestServices.GetRequiredService<DashboardOptions>().Limits.MaxExportBytes;

        // Lifted here, before reading starts, so a refused body can be drained (OtlpBody.DrainAsync);
        // ReadAsync still keeps no more than MaxExportBytes.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = OtlpBody.DrainLimit(maxBytes);
        }

        async Task<IResult> RejectAsync(int status, string title, string detail, bool drain = true)
        {
            rejections.Report(context, "HTTP", $"{status} {detail}");
            if (drain)
            {
                await OtlpBody.DrainAsync(context, maxBytes);
            }

            return Problem(status, title, detail);
        }

        if (!TryGetFormat(request.ContentType, out var format))
        {
            return await RejectAsync(
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported content type",
                $"Content-Type '{request.ContentType}' is not supported; send {ProtobufContentType} (OTLP/HTTP protobuf) or {JsonContentType} (OTLP/JSON).");
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return await RejectAsync(
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported content encoding",
                $"Content-Encoding '{encoding}' is not supported; send gzip or no encoding.");
        }

        if (request.ContentLength > maxBytes)
        {
            return await RejectAsync(StatusCodes.Status413PayloadTooLarge, "Export too large", TooLarge(request.ContentLength.Value, maxBytes));
        }

        byte[]? body = null;
        try
        {
            int length;
            try
            {
                var (raw, rawLength) = await ReadAsync(request.Body, maxBytes, context.RequestAborted);
                (body, length) = (raw, rawLength);
                if (gzip)
                {
                    // The cap applies to the decompressed size too: a small gzip body can expand a thousandfold.
                    body = null;
                    try
                    {
                        await using var unzip = new GZipStream(new MemoryStream(raw, 0, rawLength), CompressionMode.Decompress);
                        (body, length) = await ReadAsync(unzip, maxBytes, context.RequestAborted);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(raw);
                    }
                }
            }
            catch (BodyTooLargeException exception)
            {
                return await RejectAsync(StatusCodes.Status413PayloadTooLarge, "Export too large", exception.Message);
            }
            catch (BadHttpRequestException exception)
            {
                // Kestrel's own limit, or a client too slow to send the body: no use reading more.
                return await RejectAsync(
                    exception.StatusCode,
                    "Export not read",
                    exception.StatusCode == StatusCodes.Status413PayloadTooLarge ? TooLarge(null, maxBytes) : exception.Message,
                    drain: false);
            }
            catch (InvalidDataException exception)
            {
                return await RejectAsync(StatusCodes.Status400BadRequest, "Malformed export", $"The body is not valid gzip: {exception.Message}");
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException)
            {
                // The client went away mid-body; there is no one to answer.
                return TypedResults.Empty;
            }

            T message;
            try
            {
                message = format == BodyFormat.Protobuf
                    ? parser.ParseFrom(body.AsSpan(0, length))
                    : OtlpJson.Parse<T>(body.AsSpan(0, length));
            }
            catch (InvalidProtocolBufferException exception)
            {
                return await RejectAsync(StatusCodes.Status400BadRequest, "Malformed export", $"The body is not a valid OTLP protobuf {typeof(T).Name}: {exception.Message}");
            }
            catch (FormatException exception)
            {
                return await RejectAsync(StatusCodes.Status400BadRequest, "Malformed export", exception.Message);
            }

            try
            {
                store(message);
            }
#pragma warning disable CA1031 // A conversion bug must cost one export, never the receiver or a 500 with a stack trace.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                rejections.ExportFailed(context, signal, exception);
                return await RejectAsync(StatusCodes.Status400BadRequest, "Export not stored", $"The {signal} export could not be stored ({exception.GetType().Name}); the dashboard's log has the details.");
            }

            // An empty Export*ServiceResponse: full success. Its protobuf form is zero bytes.
            return format == BodyFormat.Protobuf
                ? TypedResults.Bytes([], ProtobufContentType)
                : TypedResults.Text("{}", JsonContentType);
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    private static string TooLarge(long? length, int maxBytes) =>
        length is { } bytes
            ? $"The export is {bytes} bytes; this dashboard accepts at most {maxBytes} (Dashboard:Limits:MaxExportBytes). Export smaller batches."
            : $"The export is larger than {maxBytes} bytes, the most this dashboard accepts (Dashboard:Limits:MaxExportBytes). Export smaller batches.";

    private static bool TryGetFormat(string? contentType, out BodyFormat format)
    {
        format = BodyFormat.Protobuf;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return false;
        }

        if (parsed.MediaType.Equals(ProtobufContentType, StringComparison.OrdinalIgnoreCase)
            || parsed.MediaType.Equals("application/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        format = BodyFormat.Json;
        return parsed.MediaType.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class BodyTooLargeException(string message) : Exception(message);

    /// <summary>Reads a whole stream into a pooled buffer (the caller returns it), refusing more than <paramref name="maxBytes"/>.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadAsync(Stream stream, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        throw new BodyTooLargeException(TooLarge(null, maxBytes));
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return (buffer, length);
                }

                length += read;
                if (length > maxBytes)
                {
                    throw new BodyTooLargeException(TooLarge(null, maxBytes));
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
