using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Extensions;
using MlPlatform.Inference.Grpc;

// The slim builder: an internal service speaks plain HTTP behind the gateway, so it needs none of what the full
// one adds for an edge server (HTTPS and HTTP/3 set-up, IIS integration), which cost an idle replica 1-3 MB.
var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults();
builder.AddInferenceServices();

return await builder.BuildAndRunAsync(app =>
{
    app.UseInferenceErrorHandler();
    app.MapDefaultEndpoints();
    app.MapInferenceProtocolApi();
    app.MapModelRepositoryApi();
    app.MapInferenceGrpcService();
});
