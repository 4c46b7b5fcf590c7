using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using MlPlatform.AppHost.Running;
using MlPlatform.Dashboard;

namespace MlPlatform.AppHost;

/// <summary>
/// Starts the dashboard for a local run and gives every replica what .NET Aspire's orchestrator
/// gives a project: the OTLP endpoint, protocol and API key header of the dashboard's receiver.
/// </summary>
public static class DashboardLauncher
{
    /// <summary>The dashboard options from the <c>Dashboard</c> section, checked as an options class would be on start.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public static DashboardOptions ReadOptions(IConfiguration configuration)
    {
        var options = new DashboardOptions();
        configuration.GetSection(DashboardOptions.SectionName).Bind(options);
        options.GatewayApiKey ??= configuration["AppHost:DevelopmentApiKey"];
        var problems = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), problems, validateAllProperties: true);
        Validator.TryValidateObject(options.Limits, new ValidationContext(options.Limits), problems, validateAllProperties: true);
        if (!System.Net.IPAddress.TryParse(options.BindAddress, out _))
        {
            problems.Add(new ValidationResult($"'{options.BindAddress}' is not an IP address.", [nameof(DashboardOptions.BindAddress)]));
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems.Select(p => $"Dashboard:{string.Join(",", p.MemberNames)}: {p.ErrorMessage}")));
        }

        return options;
    }

    /// <summary>
    /// Starts the dashboard over <paramref name="run"/> (before the run itself starts) and adds the
    /// OTLP variables to <paramref name="runOptions"/>; null when the dashboard is turned off.
    /// </summary>
    public static async Task<DashboardServer?> StartAsync(DashboardOptions options, LocalRun run, LocalRunOptions runOptions, CancellationToken cancellationToken)
    {
        if (!options.Enabled)
        {
            return null;
        }

        var dashboard = await DashboardServer.StartAsync(options, new LocalRunResources(run), new ConsoleLogLoggerProvider(run.Console, "dashboard"), typeof(DashboardLauncher).Assembly.GetName().Name!, cancellationToken).ConfigureAwait(false);
        runOptions.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = dashboard.OtlpGrpcEndpoint.ToString().TrimEnd('/');
        runOptions.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
        runOptions.Environment["OTEL_EXPORTER_OTLP_HEADERS"] = $"x-otlp-api-key={dashboard.OtlpApiKey}";
        return dashboard;
    }

    /// <summary>The dashboard's warnings, as lines of the AppHost console under one name.</summary>
    private sealed class ConsoleLogLoggerProvider(ConsoleLog console, string name) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ConsoleLogLogger(console, name);

        public void Dispose()
        {
        }
    }

    private sealed class ConsoleLogLogger(ConsoleLog console, string name) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var level = logLevel.ToString().ToLower(CultureInfo.InvariantCulture);
                console.Write(name, $"{level}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}", isError: logLevel >= LogLevel.Error);
            }
        }
    }
}
