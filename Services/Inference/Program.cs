using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Extensions;
using MlPlatform.Inference.Repository;

// The slim builder: an internal service speaks plain HTTP behind the gateway, so it needs none of what the full
// one adds for an edge server (HTTPS and HTTP/3 set-up, IIS integration), which cost an idle replica 1-3 MB.
var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults();
builder.AddInferenceServices();

try
{
    // Building resolves Kestrel, whose limits come from the validated settings: a bad one throws here, not in Run.
    var app = builder.Build();

    app.UseInferenceErrorHandler();
    app.MapDefaultEndpoints();
    app.MapInferenceProtocolApi();

    app.Run();
}
catch (ModelRepositoryException)
{
    // Already logged with every problem named; a stack trace would only bury it.
    return 1;
}
catch (Microsoft.Extensions.Options.OptionsValidationException exception)
{
    Console.Error.WriteLine($"Invalid settings: {string.Join("; ", exception.Failures)}");
    return 1;
}

return Environment.ExitCode;
