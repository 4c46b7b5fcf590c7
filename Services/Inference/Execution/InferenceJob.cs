using System.Diagnostics;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Execution;

/// <summary>A validated request, ready to run alone or merged with others into one batch.</summary>
internal sealed class InferenceJob(ServedModel model, InferenceRequest request, InferenceTensor[] inputs, string[] outputNames, int batchSize)
{
    private readonly TaskCompletionSource<InferenceResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServedModel Model { get; } = model;

    public InferenceRequest Request { get; } = request;

    /// <summary>The request's inputs in the order of the model's inputs.</summary>
    public InferenceTensor[] Inputs { get; } = inputs;

    /// <summary>The outputs to return, in the order the client asked for them.</summary>
    public string[] OutputNames { get; } = outputNames;

    /// <summary>The size of the first dimension for a batched model; 1 otherwise.</summary>
    public int BatchSize { get; } = batchSize;

    /// <summary>
    /// When the job was submitted to its model's batcher, from <see cref="TimeProvider.GetTimestamp"/>: the start of its
    /// request's duration in the statistics, and of its wait in the queue.
    /// </summary>
    public long EnqueuedTimestamp { get; set; }

    /// <summary>When the job left the queue for an execution; <see cref="EnqueuedTimestamp"/> for a model without batching, which has no queue.</summary>
    public long DequeuedTimestamp { get; set; }

    /// <summary>The trace of the request, so the execution span joins it even when it runs on the batching thread.</summary>
    public ActivityContext TraceContext { get; } = Activity.Current?.Context ?? default;

    public Task<InferenceResponse> Completion => _completion.Task;

    public void Complete(InferenceResponse response)
    {
        if (!_completion.TrySetResult(response))
        {
            response.Dispose();
        }
    }

    public void Fail(Exception exception) => _completion.TrySetException(exception);

    /// <summary>Whether two jobs can share one execution: the same size in every dimension but the batch one.</summary>
    public bool CanBatchWith(InferenceJob other)
    {
        for (var i = 0; i < Inputs.Length; i++)
        {
            if (!Inputs[i].Shape.AsSpan(1).SequenceEqual(other.Inputs[i].Shape.AsSpan(1)))
            {
                return false;
            }
        }

        return true;
    }
}
