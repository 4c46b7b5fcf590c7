using MlPlatform.Gateway.Apis;
using MlPlatform.Gateway.Extensions;
using MlPlatform.Gateway.Kong;
using MlPlatform.Gateway.Management;
using MlPlatform.Gateway.Proxy;
using MlPlatform.Gateway.Server;
using MlPlatform.Gateway.TryIt;

// Read once, when the first socket is used, so it is set before anything else runs (unless the operator set it).
GatewayIo.PreferInlineSocketCompletions();

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultProblemDetails();
builder.AddGatewayServices();
builder.AddGatewayPolicies();
if (builder.Environment.IsDevelopment())
{
    builder.AddTryItPage();
}

return await builder.BuildAndRunAsync(app =>
{
    app.UseDefaultProblemDetails();
    app.UseGatewayPolicies();
    // /health, /alive and /metrics on the management port alone.
    app.MapManagementEndpoints().MapKongAdminApi();
    app.MapApiDocs();
    app.MapPredictApi();
    if (app.Environment.IsDevelopment())
    {
        // Holds a development API key in plain text: anywhere else, /try is as unknown as any other path.
        app.MapTryItPage();
    }

    app.MapGatewayProxy();
    app.MapKongUnmatched();
});
