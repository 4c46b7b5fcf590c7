using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.KeyAuth;

public static class KeyAuthExtensions
{
    /// <summary>Kong's key-auth, from <c>Gateway:KeyAuth</c>.</summary>
    public static IHostApplicationBuilder AddKeyAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<KeyAuthOptions>().BindConfiguration(KeyAuthOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KeyAuthOptions>, ValidateKeyAuthOptions>();
        builder.Services.AddSingleton(provider => KeyAuthenticator.FromOptions(provider.GetRequiredService<IOptions<KeyAuthOptions>>()));
        return builder;
    }

    public static IApplicationBuilder UseKeyAuth(this IApplicationBuilder app) => app.UseMiddleware<KeyAuthMiddleware>();
}
