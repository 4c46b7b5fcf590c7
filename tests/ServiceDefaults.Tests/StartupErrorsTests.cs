using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MlPlatform.ServiceDefaults.Tests;

/// <summary>What a failed start-up reports: one line per problem, the configuration key at fault first.</summary>
public sealed class StartupErrorsTests
{
    [Fact]
    public void ProblemsOf_DataAnnotationFailures_NameTheKeyOfEachMemberOnce()
    {
        var exception = ValidationFailure(new Dictionary<string, string?> { ["Sample:Limit"] = "3", ["Sample:Retries"] = "0" });

        var problems = StartupErrors.ProblemsOf(exception);

        Assert.Equal(
            ["Sample:Limit: The field Limit must be between 1024 and 4096.", "Sample:Retries must be at least 1."],
            problems?.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ProblemsOf_ValidatorFailuresAndOptionsTypes_OneLineEach()
    {
        var exception = new AggregateException(
            new OptionsValidationException("", typeof(SampleOptions), ["services:a:http:0 is missing.", "services:b:http:0 is 'x';\nit must be an address."]),
            new OptionsValidationException("", typeof(NoSectionOptions), ["DataAnnotation validation failed for 'NoSectionOptions' members: 'Name' with the error: 'The Name field is required.'."]));

        var problems = StartupErrors.ProblemsOf(exception);

        Assert.Equal(
            ["services:a:http:0 is missing.", "services:b:http:0 is 'x'; it must be an address.", "NoSectionOptions:Name: The Name field is required."],
            problems);
    }

    [Fact]
    public void ProblemsOf_ValueTheBinderCannotConvert_NamesTheKey()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Sample:Limit"] = "lots" })
            .Build());
        services.AddOptions<SampleOptions>().BindConfiguration(SampleOptions.SectionName);
        using var provider = services.BuildServiceProvider();
        var exception = Assert.ThrowsAny<InvalidOperationException>(() => provider.GetRequiredService<IOptions<SampleOptions>>().Value);

        var problems = StartupErrors.ProblemsOf(new InvalidOperationException("Unable to load the proxy configuration.", exception));

        var problem = Assert.Single(problems!);
        Assert.StartsWith("Sample:Limit: ", problem, StringComparison.Ordinal);
        Assert.Contains("lots", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ProblemsOf_AnyOtherFailure_IsNotReported()
    {
        Assert.Null(StartupErrors.ProblemsOf(new InvalidOperationException("a bug")));
        Assert.Null(StartupErrors.ProblemsOf(new AggregateException(
            new OptionsValidationException("", typeof(SampleOptions), ["Sample:Limit is wrong."]),
            new IOException("disk"))));
    }

    private static OptionsValidationException ValidationFailure(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddOptions<SampleOptions>().BindConfiguration(SampleOptions.SectionName).ValidateDataAnnotations();
        using var provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SampleOptions>>().Value);
    }

    public sealed class SampleOptions
    {
        public const string SectionName = "Sample";

        [Range(1024, 4096)]
        public int Limit { get; set; } = 2048;

        [Range(1, 10, ErrorMessage = SectionName + ":{0} must be at least {1}.")]
        public int Retries { get; set; } = 1;
    }

    public sealed class NoSectionOptions
    {
        [Required]
        public string? Name { get; set; }
    }
}
