using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Inference.Repository;

/// <summary>Where the models are and how they come and go, from the <c>Inference</c> configuration section.</summary>
/// <remarks>Members are named as their keys (<c>Inference:ModelRepository</c> and so on), which start-up errors name by the member.</remarks>
public sealed class ModelRepositoryOptions
{
    public const string SectionName = "Inference";

    /// <summary>What <see cref="StartupModels"/> holds to load every model of the repository, as Triton's <c>--load-model=*</c>.</summary>
    public const string AllModels = "*";

    /// <summary>
    /// The model repository folder, used as given; a relative path is taken from the working directory. Unset, it
    /// is <c>models</c> in the working directory, or, where there is none, the <c>models</c> folder of the source
    /// tree the service was built from (<see cref="ModelRepositoryLocation"/>).
    /// </summary>
    public string? ModelRepository { get; set; }

    /// <summary><c>none</c> (the default), <c>explicit</c> or <c>poll</c>, as Triton's <c>--model-control-mode</c>.</summary>
    public ModelControlMode ModelControlMode { get; set; } = ModelControlMode.None;

    /// <summary>In <c>explicit</c> mode, the models to load at start (<c>*</c> for all), as Triton's <c>--load-model</c>.</summary>
    public string[] StartupModels { get; set; } = [];

    /// <summary>In <c>poll</c> mode, seconds between two scans of the repository, as Triton's <c>--repository-poll-secs</c>.</summary>
    [Range(1, 86_400)]
    public int RepositoryPollSeconds { get; set; } = 15;

    /// <summary>
    /// Whether a model that cannot be served stops the server at start (the default, as Triton's
    /// <c>--exit-on-error</c>); when false the server serves the others and the index gives each failure's reason.
    /// </summary>
    public bool ExitOnError { get; set; } = true;
}
