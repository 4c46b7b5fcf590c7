using Grpc.Core;
using MlPlatform.Dashboard.Otlp;

// Additions to the generated service bases: a second bind method that uses OtlpGrpc's marshallers.
// Grpc.AspNetCore requires the bind method to be declared on the type that declares the
// service's virtual methods, so it lives here rather than on the services in OtlpGrpc.cs.

namespace Opentelemetry.Proto.Collector.Trace.V1
{
    internal static partial class TraceService
    {
        public abstract partial class TraceServiceBase
        {
            private static readonly Method<ExportTraceServiceRequest, ExportTraceServiceResponse> ExportWithStatus =
                OtlpGrpc.ExportMethod(Descriptor, ExportTraceServiceRequest.Parser, ExportTraceServiceResponse.Parser);

            /// <summary>Grpc.AspNetCore calls this with a null service to learn the methods, then creates the service per call.</summary>
            public static void BindWithStatus(ServiceBinderBase binder, TraceServiceBase? service) =>
                binder.AddMethod(ExportWithStatus, service is null ? null : service.Export);
        }
    }
}

namespace Opentelemetry.Proto.Collector.Logs.V1
{
    internal static partial class LogsService
    {
        public abstract partial class LogsServiceBase
        {
            private static readonly Method<ExportLogsServiceRequest, ExportLogsServiceResponse> ExportWithStatus =
                OtlpGrpc.ExportMethod(Descriptor, ExportLogsServiceRequest.Parser, ExportLogsServiceResponse.Parser);

            public static void BindWithStatus(ServiceBinderBase binder, LogsServiceBase? service) =>
                binder.AddMethod(ExportWithStatus, service is null ? null : service.Export);
        }
    }
}

namespace Opentelemetry.Proto.Collector.Metrics.V1
{
    internal static partial class MetricsService
    {
        public abstract partial class MetricsServiceBase
        {
            private static readonly Method<ExportMetricsServiceRequest, ExportMetricsServiceResponse> ExportWithStatus =
                OtlpGrpc.ExportMethod(Descriptor, ExportMetricsServiceRequest.Parser, ExportMetricsServiceResponse.Parser);

            public static void BindWithStatus(ServiceBinderBase binder, MetricsServiceBase? service) =>
                binder.AddMethod(ExportWithStatus, service is null ? null : service.Export);
        }
    }
}
