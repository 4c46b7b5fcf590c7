using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Collector.Trace.V1;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>
/// Method definitions for the three OTLP services. The generated ones would answer a malformed
/// message with UNKNOWN ("exception was thrown by handler"); these answer INVALID_ARGUMENT naming
/// what could not be read. The services below bind through <c>BindWithStatus</c>
/// (OtlpServiceBinding.cs) to use them.
/// </summary>
internal static class OtlpGrpc
{
    private const string ExportMethodName = "Export";

    public static Method<TRequest, TResponse> ExportMethod<TRequest, TResponse>(ServiceDescriptor service, MessageParser<TRequest> requests, MessageParser<TResponse> responses)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        if (service.FindMethodByName(ExportMethodName) is null)
        {
            throw new InvalidOperationException($"{service.FullName} has no {ExportMethodName} method.");
        }

        var requestMarshaller = Marshallers.Create<TRequest>(Serialize, context =>
        {
            try
            {
                return requests.ParseFrom(context.PayloadAsReadOnlySequence());
            }
            catch (InvalidProtocolBufferException exception)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"The message is not a valid OTLP {typeof(TRequest).Name}: {exception.Message}"));
            }
        });
        var responseMarshaller = Marshallers.Create<TResponse>(Serialize, context => responses.ParseFrom(context.PayloadAsReadOnlySequence()));
        return new Method<TRequest, TResponse>(MethodType.Unary, service.FullName, ExportMethodName, requestMarshaller, responseMarshaller);
    }

    private static void Serialize<T>(T message, SerializationContext context)
        where T : IMessage<T>
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    public static bool IsGrpcRequest(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>Answers a call "trailers-only" (status in the headers, no body), as gRPC does for an error before any message.</summary>
    public static void WriteStatus(HttpContext context, StatusCode code, string detail)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(detail);
    }

    /// <summary>The status a finished call answered with: in the trailers, or in the headers of a trailers-only answer.</summary>
    public static Status? ReadStatus(HttpContext context)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var code = trailers?["grpc-status"].ToString();
        var message = trailers?["grpc-message"].ToString();
        if (string.IsNullOrEmpty(code))
        {
            code = context.Response.Headers["grpc-status"].ToString();
            message = context.Response.Headers["grpc-message"].ToString();
        }

        if (!int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        return new Status((StatusCode)value, Uri.UnescapeDataString(message ?? string.Empty));
    }
}

[BindServiceMethod(typeof(TraceService.TraceServiceBase), nameof(TraceService.TraceServiceBase.BindWithStatus))]
internal sealed class OtlpTraceService(TelemetryStore store) : TraceService.TraceServiceBase
{
    private static readonly Task<ExportTraceServiceResponse> Accepted = Task.FromResult(new ExportTraceServiceResponse());

    public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        store.AddTraces(request);
        return Accepted;
    }
}

[BindServiceMethod(typeof(LogsService.LogsServiceBase), nameof(LogsService.LogsServiceBase.BindWithStatus))]
internal sealed class OtlpLogsService(TelemetryStore store) : LogsService.LogsServiceBase
{
    private static readonly Task<ExportLogsServiceResponse> Accepted = Task.FromResult(new ExportLogsServiceResponse());

    public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
    {
        store.AddLogs(request);
        return Accepted;
    }
}

[BindServiceMethod(typeof(MetricsService.MetricsServiceBase), nameof(MetricsService.MetricsServiceBase.BindWithStatus))]
internal sealed class OtlpMetricsService(TelemetryStore store, OtlpRejections rejections) : MetricsService.MetricsServiceBase
{
    private static readonly Task<ExportMetricsServiceResponse> Accepted = Task.FromResult(new ExportMetricsServiceResponse());

    public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
    {
        OtlpHttpEndpoints.Report(store.AddMetrics(request), store, rejections);
        return Accepted;
    }
}
