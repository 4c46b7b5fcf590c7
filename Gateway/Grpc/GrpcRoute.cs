using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Grpc;

/// <summary>
/// The one gRPC route: every method of the Open Inference Protocol's service, on the gRPC port only, to inference's
/// endpoint named <c>grpc</c>, found by service discovery as Aspire names it (<c>http://_grpc.inference</c>).
/// Its route group is <see cref="GatewayRoutes.Grpc"/>, so keys, limits and timeouts are set for it as for any group.
/// </summary>
public static class GrpcRoute
{
    public const string Service = "inference.GRPCInferenceService";

    /// <summary>The path every method of <see cref="Service"/> has: <c>/{package.Service}/{Method}</c>.</summary>
    public const string PathPrefix = "/" + Service;

    public const string PathPattern = PathPrefix + "/{**method}";

    public const string ClusterId = BackendServices.Inference + "-grpc";

    /// <summary>The name of inference's gRPC endpoint in the AppHost, and in service discovery's keys.</summary>
    public const string InferenceEndpoint = "grpc";

    /// <summary>Service discovery's name for inference's <see cref="InferenceEndpoint"/> endpoint.</summary>
    public const string InferenceAddress = "http://_" + InferenceEndpoint + "." + BackendServices.Inference;
}
