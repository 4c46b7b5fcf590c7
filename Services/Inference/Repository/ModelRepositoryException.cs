namespace MlPlatform.Inference.Repository;

/// <summary>
/// The model repository cannot be served. The message lists every problem found, each naming the
/// file and the field, so one start-up tells an operator everything to fix.
/// </summary>
public sealed class ModelRepositoryException(IReadOnlyList<string> problems)
    : Exception("The model repository cannot be served:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
