namespace MlPlatform.Inference.Repository;

/// <summary>Where the models are, from the <c>Inference</c> configuration section.</summary>
public sealed class ModelRepositoryOptions
{
    public const string SectionName = "Inference";

    /// <summary>
    /// The model repository folder, used as given; a relative path is taken from the working directory. Unset, it
    /// is <c>models</c> in the working directory, or, where there is none, the <c>models</c> folder of the source
    /// tree the service was built from (<see cref="ModelRepositoryLocation"/>).
    /// </summary>
    /// <remarks>Named as its key, <c>Inference:ModelRepository</c>, which start-up errors name by the member.</remarks>
    public string? ModelRepository { get; set; }
}
