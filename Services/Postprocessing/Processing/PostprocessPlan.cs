using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Postprocessing.Config;
using MlPlatform.Postprocessing.Diagnostics;

namespace MlPlatform.Postprocessing.Processing;

/// <summary>What one model version's config says to do with its responses, read and checked once.</summary>
internal sealed class PostprocessPlan
{
    /// <summary>Labels keep their letters readable (no <c>\u00e9</c>) yet stay safe to embed in HTML.</summary>
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);

    private int _labelsShortLogged;

    private PostprocessPlan(string model, PostprocessConfig? config, JsonEncodedText[] labels, string? error)
    {
        Model = model;
        Config = config;
        Labels = labels;
        Error = error;
    }

    public string Model { get; }

    /// <summary>The section, or null when <see cref="Error"/> says why the model cannot be postprocessed.</summary>
    public PostprocessConfig? Config { get; }

    /// <summary>The model's labels by class index, encoded once for every response.</summary>
    public JsonEncodedText[] Labels { get; }

    public string? Error { get; }

    public static PostprocessPlan Create(string model, ModelConfig config)
    {
        var labels = new JsonEncodedText[config.Labels?.Count ?? 0];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = JsonEncodedText.Encode(config.Labels![i], Encoder);
        }

        if (config.Postprocess is not { ValueKind: not JsonValueKind.Null } section)
        {
            return new PostprocessPlan(model, null, labels,
                $"model '{model}' has no '{PostprocessConfig.SectionName}' section in its config.json; "
                + "add one such as {\"output\": \"<output name>\", \"softmax\": false, \"top_k\": 3}");
        }

        if (!PostprocessConfig.TryParse(section, out var parsed, out var problems))
        {
            return new PostprocessPlan(model, null, labels,
                $"model '{model}' has a '{PostprocessConfig.SectionName}' section that cannot be used: {string.Join("; ", problems)}");
        }

        return new PostprocessPlan(model, parsed, labels, null);
    }

    /// <summary>Warns, once per model version, that labels.txt is shorter than the model's classes.</summary>
    public void CheckLabelCount(int classCount, ILogger logger)
    {
        if (Labels.Length < classCount && Labels.Length > 0 && Interlocked.Exchange(ref _labelsShortLogged, 1) == 0)
        {
            PostprocessingLog.LabelsShort(logger, Model, Labels.Length, classCount);
        }
    }
}

/// <summary>
/// Plans by config: <see cref="ModelConfigClient"/> keeps one config instance per model version, so a
/// plan lives exactly as long as the config it was read from.
/// </summary>
internal sealed class PostprocessPlans(ILogger<PostprocessPlans> logger)
{
    private readonly ConditionalWeakTable<ModelConfig, PostprocessPlan> _plans = [];

    public PostprocessPlan For(string model, ModelConfig config)
    {
        if (_plans.TryGetValue(config, out var plan))
        {
            return plan;
        }

        plan = PostprocessPlan.Create(model, config);
        if (plan.Error is { } error)
        {
            PostprocessingLog.ConfigUnusable(logger, model, error);
        }

        return _plans.TryAdd(config, plan) ? plan : _plans.TryGetValue(config, out var other) ? other : plan;
    }
}
