using Microsoft.Extensions.Options;
using MlPlatform.Postprocessing.Apis;
using MlPlatform.Postprocessing.Extensions;

var builder = WebApplication.CreateBuilder(args);

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
