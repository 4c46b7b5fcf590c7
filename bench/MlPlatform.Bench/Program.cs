using MlPlatform.Bench;

// Usage: MlPlatform.Bench [--quick] [benchmark ...]; with no benchmark named, all run.
// The benchmark starts itself as a reference server in some runs (the variable names the role).
switch (Environment.GetEnvironmentVariable(EmptyWebApp.RoleVariable))
{
    case EmptyWebApp.Role:
        await EmptyWebApp.RunAsync(args);
        return 0;
    case BareYarp.Role:
        await BareYarp.RunAsync(args);
        return 0;
}

var settings = BenchSettings.Parse(args);
var benchmarks = new Dictionary<string, Func<BenchSettings, Task>>
{
    [ProxyVersusNginx.Id] = ProxyVersusNginx.RunAsync,
    [GatewayPolicy.Id] = GatewayPolicy.RunAsync,
    [BinaryVersusJson.Id] = BinaryVersusJson.RunAsync,
    [DynamicBatching.Id] = DynamicBatching.RunAsync,
    [ServiceVersusInProcess.Id] = ServiceVersusInProcess.RunAsync,
    [PipelineVersusDirect.Id] = PipelineVersusDirect.RunAsync,
    [PredictLatency.Id] = PredictLatency.RunAsync,
    [IdleMemory.Id] = IdleMemory.RunAsync,
    [ImageKernels.Id] = ImageKernels.RunAsync,
    [GrpcVersusRest.Id] = GrpcVersusRest.RunAsync,
    [VersionSwap.Id] = VersionSwap.RunAsync,
    [DeclarativeVersusSettings.Id] = DeclarativeVersusSettings.RunAsync,
    [Floors.Id] = Floors.RunAsync,
    [RealisticModel.Id] = RealisticModel.RunAsync,
};

foreach (var name in settings.Benchmarks.Count > 0 ? settings.Benchmarks : benchmarks.Keys.ToList())
{
    if (!benchmarks.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"Unknown benchmark '{name}'; known: {string.Join(", ", benchmarks.Keys)}");
        return 2;
    }

    Console.WriteLine($"== {name}");
    await run(settings);
}

Console.WriteLine($"Results written to {ResultsFile.Path}");
return 0;

internal sealed record BenchSettings(bool Quick, IReadOnlyList<string> Benchmarks)
{
    public int Concurrency => 4;

    public int Rounds => Quick ? 2 : 3;

    public TimeSpan Duration => TimeSpan.FromSeconds(Quick ? 4 : 8);

    public TimeSpan Warmup => TimeSpan.FromSeconds(Quick ? 2 : 4);

    public string Command(string id) => $"./bench/run.sh {(Quick ? "--quick " : "")}{id}";

    public static BenchSettings Parse(string[] args) =>
        new(args.Contains("--quick"), args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList());
}
