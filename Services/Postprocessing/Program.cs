using Microsoft.Extensions.Options;
using MlPlatform.Postprocessing.Apis;
using MlPlatform.Postprocessing.Extensions;

// The slim builder: an internal service speaks plain HTTP behind the gateway, so it needs none of what the full
// one adds for an edge server (HTTPS and HTTP/3 set-up, IIS integration), which cost an idle replica 1-3 MB.
var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultProblemDetails();
builder.AddPostprocessingServices();

var app = builder.Build();

app.UseDefaultProblemDetails();
app.MapDefaultEndpoints();
app.MapPostprocessApi();

try
{
    app.Run();
}
catch (OptionsValidationException)
{
    // The host has logged every field at fault; a stack trace would only bury them.
    return 1;
}

return Environment.ExitCode;
