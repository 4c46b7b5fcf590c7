using Scalar.AspNetCore;

namespace MlPlatform.Gateway.Apis;

/// <summary>The OpenAPI document of the gateway's own endpoints and a page to read and try it.</summary>
public static class ApiDocs
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string PagePath = "/docs";

    /// <summary>Maps <c>/openapi/v1.json</c> and the Scalar page at <c>/docs</c>, in every environment: the gateway is the public API.</summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(PagePath, options => options.WithTitle("MlPlatform API"));
        return app;
    }
}
