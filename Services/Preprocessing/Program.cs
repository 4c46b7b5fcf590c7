using MlPlatform.Preprocessing.Apis;
using MlPlatform.Preprocessing.Extensions;

// The slim builder: an internal service speaks plain HTTP behind the gateway, so it needs none of what the full
// one adds for an edge server (HTTPS and HTTP/3 set-up, IIS integration), which cost an idle replica 1-3 MB.
var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultProblemDetails();
builder.AddPreprocessingServices();

try
{
    // Building resolves Kestrel, whose limits come from the validated settings: a bad one throws here, not in Run.
    var app = builder.Build();

    app.UseDefaultProblemDetails();
    app.MapDefaultEndpoints();
    app.MapPreprocessApi();

    app.Run();
}
catch (Microsoft.Extensions.Options.OptionsValidationException exception)
{
    Console.Error.WriteLine($"Invalid settings: {string.Join("; ", exception.Failures)}");
    return 1;
}

return 0;
