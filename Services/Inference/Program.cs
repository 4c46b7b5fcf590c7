using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Extensions;
using MlPlatform.Inference.Repository;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddInferenceServices();

var app = builder.Build();

app.UseInferenceErrorHandler();
app.MapDefaultEndpoints();
app.MapInferenceProtocolApi();

try
{
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
