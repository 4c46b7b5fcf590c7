namespace MlPlatform.Inference.Grpc;

public static class GrpcEndpoints
{
    /// <summary>The Open Inference Protocol's gRPC service, answered on the port <see cref="GrpcOptions.GrpcPort"/> opens.</summary>
    public static IEndpointRouteBuilder MapInferenceGrpcService(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<GrpcInferenceService>();
        return app;
    }
}
