using MlPlatform.Preprocessing.Apis;
using MlPlatform.Preprocessing.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDefaultProblemDetails();
builder.AddPreprocessingServices();

var app = builder.Build();

app.UseDefaultProblemDetails();
app.MapDefaultEndpoints();
app.MapPreprocessApi();

app.Run();
