using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.FluentUI.AspNetCore.Components;

namespace MlPlatform.Dashboard.Components;

/// <summary>
/// The browser side: every page and API call needs the cookie that <c>/login?t=&lt;token&gt;</c>
/// sets, as the .NET Aspire dashboard's browser token does.
/// </summary>
internal static class DashboardUi
{
    private sealed record BrowserTokenHolder(byte[] Token);

    public static IServiceCollection AddDashboardUi(this IServiceCollection services, string browserToken)
    {
        services.AddSingleton(new BrowserTokenHolder(Encoding.UTF8.GetBytes(browserToken)));
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(cookie =>
            {
                cookie.Cookie.Name = ".MlPlatform.Dashboard";
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.HttpOnly = true;
                cookie.LoginPath = "/login";
                // An API client gets 401, not a redirect to a page it cannot use.
                cookie.Events.OnRedirectToLogin = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                };
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddAntiforgery();
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddFluentUIComponents();
        services.AddHttpClient(TryIt.PredictClient.ClientName, client => client.Timeout = TimeSpan.FromSeconds(60));
        services.AddScoped<TryIt.PredictClient>();
        return services;
    }

    public static WebApplication MapDashboardUi(this WebApplication app)
    {
        // An unknown page address gets the Not found page; the JSON API keeps its own bare 404s. (Not
        // UseWhen: re-execution needs the application's own pipeline, which a branch does not have.)
        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) && context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
            {
                statusCodePages.Enabled = false;
            }

            return next(context);
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();

        app.MapGet("/login", async (string? t, HttpContext context, BrowserTokenHolder expected) =>
        {
            if (t is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(t), expected.Token))
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Dashboard token missing or wrong",
                    detail: "Open the login URL the AppHost printed at start; it carries the token for this run.");
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "browser")], CookieAuthenticationDefaults.AuthenticationScheme);
            await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
            return Results.Redirect("/");
        }).AllowAnonymous();

        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
