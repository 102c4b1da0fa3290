package io.adaptrec.worker.cli;

import io.adaptrec.worker.model.ItemTextEncoder;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.TrainConfig;
import picocli.CommandLine.Option;

/** Model size and training schedule options shared by {@code train} and {@code eval}. */
public final class ModelOptions {

    @Option(names = "--d-model", description = "Transformer width (default: ${DEFAULT-VALUE}).")
    int dModel = 64;

    @Option(names = "--layers", description = "Transformer blocks (default: ${DEFAULT-VALUE}).")
    int layers = 2;

    @Option(names = "--heads", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads = 2;

    @Option(names = "--lora-rank", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
    int loraRank = 8;

    @Option(names = "--epochs", split = ",", paramLabel = "A,B,C,S",
            description = "Epochs of stage A (sequence LM), B (prompts), C (LoRA) and the SASRec baseline "
                    + "(default: the TrainConfig defaults).")
    int[] epochs;

    @Option(names = "--train-seed", description = "Training seed (default: ${DEFAULT-VALUE}).")
    public int seed = 42;

    @Option(names = "--dropout", description = "Dropout on attention and residual branches while training "
            + "(default: the RecLMConfig default).")
    Float dropout;

    @Option(names = "--prompts-per-user", description = "Training prompts sampled per user and epoch in stages B "
            + "and C (default: the TrainConfig default).")
    Integer promptsPerUser;

    @Option(names = "--train-judge-items", description = "Known items on which stage C judges each pool member "
            + "when it re-selects demonstrations (default: the TrainConfig default).")
    Integer judgeItems;

    @Option(names = "--weight-decay", description = "Decoupled weight decay (AdamW); 0 trains with Adam "
            + "(default: the TrainConfig default).")
    Float weightDecay;

    @Option(names = "--patience", description = "Early stopping of RecLM's stage A on the split's validation cases "
            + "(mean log-likelihood of the target among its candidates): stop after this many epochs without a better "
            + "score and keep the best epoch; the stage-A epochs are then a maximum; 0 trains every epoch "
            + "(default: the TrainConfig default, 0).")
    Integer patience;

    @Option(names = "--sasrec-patience", description = "The same early stopping for the SASRec baseline; its epochs "
            + "(the 4th of --epochs) are then a maximum (default: the TrainConfig default, 3 with at most 40 epochs).")
    Integer sasrecPatience;

    @Option(names = "--text-encoder", description = "Pretrained text vectors of item titles and genres added to the items' "
            + "token rows through a learned projection: none, or minilm (all-MiniLM-L6-v2, quantized ONNX from its Maven jar, "
            + "run on the CPU) (default: ${DEFAULT-VALUE}).")
    String textEncoder = "none";

    @Option(names = "--lr-schedule", description = "Learning rate over the sequence epochs of RecLM's stage A and of "
            + "SASRec: fixed, or cosine (linear warm-up over the first epoch, then cosine decay to a tenth) "
            + "(default: the TrainConfig default, fixed).")
    String lrSchedule;

    @Option(names = "--average-epochs", description = "Weight averaging over the sequence epochs of RecLM's stage A "
            + "and of SASRec: keep the mean of the weights after the last N epochs (with early stopping, of the N epochs "
            + "ending at the best one); 0 or 1 keeps the last epoch (default: the TrainConfig default, 0).")
    Integer averageEpochs;

    @Option(names = "--sequence-weight", description = "Weight w of the sequence expert: above 0, a frozen copy of the "
            + "stage-A model is kept in the model, and every ranking is log p(prompt) + w log p(sequence) over the "
            + "candidates, the sequence reading being the expert's next item after the recent history alone; 0 ranks "
            + "by the prompt model alone (default: the TrainConfig default).")
    Float sequenceWeight;

    @Option(names = "--adam-beta2", description = "Decay rate of Adam's second-moment estimate in every training stage "
            + "and in SASRec (default: the TrainConfig default).")
    Float adamBeta2;

    @Option(names = "--m", description = "Demonstrations per prompt M (default: ${DEFAULT-VALUE}).")
    int m = 5;

    /** The options as {@code train} uses them when none is given. */
    public static ModelOptions defaults() {
        return new ModelOptions();
    }

    public RecLMConfig model() {
        RecLMConfig d = RecLMConfig.small();
        float p = dropout != null ? dropout : d.dropout();
        int textDim = switch (textEncoder) {
            case "none" -> 0;
            case "minilm" -> ItemTextEncoder.DIM;
            default -> throw new IllegalArgumentException("--text-encoder must be none or minilm, was '" + textEncoder + "'");
        };
        return new RecLMConfig(dModel, heads, layers, d.maxLen(), p, true, loraRank, 2f * loraRank, false, textDim);
    }

    public TrainConfig training(long seedOverride) {
        TrainConfig t = TrainConfig.defaults().withSeed((int) seedOverride).withM(m);
        if (epochs != null) {
            if (epochs.length != 4) {
                throw new IllegalArgumentException("--epochs needs four numbers A,B,C,S, got " + epochs.length);
            }
            t = t.withEpochs(epochs[0], epochs[1], epochs[2], epochs[3]);
        }
        if (weightDecay != null) {
            t = t.withWeightDecay(weightDecay);
        }
        if (judgeItems != null) {
            t = t.withJudgeItems(judgeItems);
        }
        if (patience != null) {
            t = t.withPatience(patience);
        }
        if (sasrecPatience != null) {
            t = t.withSasrecPatience(sasrecPatience);
        }
        if (lrSchedule != null) {
            t = t.withLrSchedule(lrSchedule);
        }
        if (averageEpochs != null) {
            t = t.withAverageEpochs(averageEpochs);
        }
        if (sequenceWeight != null) {
            t = t.withSequenceWeight(sequenceWeight);
        }
        if (adamBeta2 != null) {
            t = t.withAdamBeta2(adamBeta2);
        }
        if (promptsPerUser != null) {
            t = t.withLoss(t.candWeight(), t.lmWeight(), promptsPerUser);
        }
        return t;
    }
}
