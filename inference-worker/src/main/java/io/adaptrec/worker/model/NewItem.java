package io.adaptrec.worker.model;

/**
 * What the model knows of an item added to the catalogue after training: the word tokens of its
 * title and genres that the vocabulary has ({@link Vocabulary#wordTokens}) and, for a model that
 * takes pretrained text vectors ({@link RecLMConfig#textDim()} above 0), the {@link ItemTextEncoder}
 * vector of its text (null otherwise). Built by {@link LanguageModel#newItem}; such an item is
 * scored through the text part of the item row alone.
 */
public record NewItem(int[] words, float[] textVector) {

    /** True when the item has any text the model can read: known words, or a text vector. */
    public boolean scorable() {
        return words.length > 0 || textVector != null;
    }
}
