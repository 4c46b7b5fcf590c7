using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The one start-up path of every service. A setting, a model repository or a config the service cannot start
/// with ends start-up with one line per problem on stderr, <c>error: </c> and the key or file at fault first,
/// and exit code 1: an operator reads what to fix, not a stack trace, and a supervisor (the orchestrator,
/// Kubernetes) sees the failure in the exit code. Anything else still fails the usual way, stack trace and all,
/// since only then is the trace what someone needs.
/// </summary>
public static partial class StartupErrors
{
    public const int FailureExitCode = 1;

    public const string LinePrefix = "error: ";

    /// <summary>
    /// Builds the app, lets <paramref name="configure"/> add its middleware and endpoints, and runs it until it
    /// stops; returns the process exit code.
    /// </summary>
    public static async Task<int> BuildAndRunAsync(this WebApplicationBuilder builder, Action<WebApplication> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        WebApplication? app = null;
        try
        {
            // Building already reads settings: Kestrel's limits come from a service's own, validated, options.
            app = builder.Build();
            configure(app);

            // Validated here rather than by the host's start, which would log the failure with its stack trace
            // before rethrowing it; the host's own check then finds every options instance already made.
            app.Services.GetService<IStartupValidator>()?.Validate();

            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (ProblemsOf(exception) is { Count: > 0 } problems)
        {
            if (app is not null)
            {
                // Flushes the console logger, so what the service logged before the failure is not lost with it.
                await app.DisposeAsync().ConfigureAwait(false);
            }

            Report(problems);
            return FailureExitCode;
        }

        await app.WaitForShutdownAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        return Environment.ExitCode;
    }

    /// <summary>
    /// Stops a service that finds, once started, that it cannot serve (a model that does not load): its
    /// problems are reported as a start-up failure is, and the process exits with code 1.
    /// </summary>
    public static void StopWithStartupErrors(this IHostApplicationLifetime lifetime, IEnumerable<string> problems)
    {
        ArgumentNullException.ThrowIfNull(lifetime);

        Report(problems);
        Environment.ExitCode = FailureExitCode;
        lifetime.StopApplication();
    }

    /// <summary>The lines <see cref="BuildAndRunAsync"/> reports for a start-up failure, or null when it is not one it reports.</summary>
    internal static IReadOnlyList<string>? ProblemsOf(Exception exception)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                return validation.Failures.Select(failure => Describe(validation.OptionsType, failure)).ToArray();

            case AggregateException aggregate:
                // The startup validator throws one exception per options type at fault, combined.
                var problems = new List<string>();
                foreach (var inner in aggregate.Flatten().InnerExceptions)
                {
                    if (ProblemsOf(inner) is not { } innerProblems)
                    {
                        return null;
                    }

                    problems.AddRange(innerProblems);
                }

                return problems;

            // A value the configuration binder cannot convert ("abc" for a number).
            case InvalidOperationException { InnerException: FormatException or OverflowException or ArgumentException } conversion
                when BinderFailure().Match(conversion.Message) is { Success: true } match:
                return [$"{match.Groups["key"].Value}: {OneLine(conversion.Message)}"];

            // Wrapped by whatever read the setting (YARP wraps what its config provider throws).
            case { InnerException: { } inner }:
                return ProblemsOf(inner);

            default:
                return null;
        }
    }

    /// <summary>
    /// A data annotation's failure, which names the options class and member, as the configuration key it was
    /// bound from; other failures (our validators') name their key already and are kept as they are.
    /// </summary>
    internal static string Describe(Type optionsType, string failure)
    {
        var match = DataAnnotationFailure().Match(failure);
        if (!match.Success)
        {
            return OneLine(failure);
        }

        var members = match.Groups["members"].Value;
        var key = members.Length == 0 ? SectionOf(optionsType) : $"{SectionOf(optionsType)}:{members.Replace(",", ", ", StringComparison.Ordinal)}";
        var error = match.Groups["error"].Value;
        // An error message of our own may name the key already ("Postprocessing:MaxRequestBodyBytes must be ...").
        return OneLine(error.StartsWith(key, StringComparison.OrdinalIgnoreCase) ? error : $"{key}: {error}");
    }

    /// <summary>
    /// The configuration section an options class is bound from: by this repository's convention its
    /// <c>SectionName</c> constant; the class name where it has none.
    /// </summary>
    private static string SectionOf(Type optionsType) =>
        optionsType.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
        && field.GetRawConstantValue() is string { Length: > 0 } section
            ? section
            : optionsType.Name;

    private static void Report(IEnumerable<string> problems)
    {
        // Written whole, in one call, so no log line from another thread ends up between two of them.
        var text = string.Concat(problems.Select(problem => LinePrefix + OneLine(problem) + Environment.NewLine));
        Console.Error.Write(text);
        Console.Error.Flush();
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    // The configuration binder's, reflection-based or generated, for a value it cannot convert; the value is left
    // out of it by some versions.
    [GeneratedRegex(@"^Failed to convert configuration value (?:'.*' )?at '(?<key>[^']*)' to type")]
    private static partial Regex BinderFailure();

    // The format of Microsoft.Extensions.Options.DataAnnotations' failures.
    [GeneratedRegex(@"^DataAnnotation validation failed for '(?<type>[^']*)' members: '(?<members>[^']*)' with the error: '(?<error>.*)'\.$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();
}
