using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Apis;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Extensions;
using MlPlatform.Gateway.Policies;
using MlPlatform.Gateway.Proxy;
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

var app = builder.Build();

app.UseDefaultProblemDetails();
app.UseGatewayPolicies();
app.MapDefaultEndpoints();
app.MapApiDocs();
app.MapPredictApi();
if (app.Environment.IsDevelopment())
{
    // Holds a development API key in plain text: anywhere else, /try is as unknown as any other path.
    app.MapTryItPage();
}

app.MapReverseProxy(proxy => proxy.UseGatewayProxyPipeline());

try
{
    await app.RunAsync();
}
catch (OptionsValidationException exception)
{
    GatewayLog.ConfigurationInvalid(app.Logger, string.Join(Environment.NewLine, exception.Failures));
    // Disposing flushes the console logger, so the message is not lost with the process.
    await app.DisposeAsync();
    return 1;
}

return Environment.ExitCode;
