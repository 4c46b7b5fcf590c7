namespace MlPlatform.Inference.Repository;

/// <summary>How models come and go while the server runs, as Triton's <c>--model-control-mode</c>.</summary>
public enum ModelControlMode
{
    /// <summary>Every model loads at start and stays; the load and unload calls are refused.</summary>
    None,

    /// <summary><c>Inference:StartupModels</c> load at start; after that, only the load and unload calls change what is served.</summary>
    Explicit,

    /// <summary>Every model loads at start, and the repository is watched: new models and versions load, removed ones unload, changed ones reload.</summary>
    Poll,
}
