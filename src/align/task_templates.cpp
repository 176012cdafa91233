// The alignment tasks' question templates (task_templates.hpp), verbatim from RecExplainer's
// preprocess/utils.py `prompt_templates` (the answer side is always "{0}").
#include "gavamoe/align/task_templates.hpp"

#include <map>

#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using Templates = std::vector<std::string>;

const std::map<std::string, Templates>& all_templates() {
  static const std::map<std::string, Templates> templates = {
      {"test_iid2title",
       {"Could you provide the title for the item: {0} ?", "What do we call the item: {0} ?",
        "I need the title of the following item: {0} , please.",
        "Identify the title of the item: {0} .", "State the title of item: {0} .",
        "What is the title for the item: {0} ?", "Generate the title of the item: {0} .",
        "Could you generate the name for the item: {0} ?"}},
      {"iid2title",
       {"What is the title of the item: {0} ?", "What is the name of the item: {0} ?",
        "Given the item: {0} , generate its title.", "For the item: {0} , what is its title?",
        "Can you tell me the title of the item: {0} ?", "What's the title for the item: {0} ?",
        "Please generate the title of the item: {0} ?", "Title of the item: {0} ?",
        "Item: {0} , what is its name?", "Could you generate the title for the item: {0} ?",
        "Regarding the item: {0} , what is its title?"}},
      {"iid2feature",
       {"What are the features of the item: {0} ?", "Given the item: {0} , generate its features.",
        "Generate features for the item: {0} .", "Can you tell me the features of the item: {0} ?",
        "What are the features for the item: {0} ?",
        "Please generate the features of the item: {0} ?", "Features of the item: {0} ?",
        "Item: {0} , what are its features?", "Could you generate the features for the item: {0} ?",
        "Regarding the item: {0} , what are its features?"}},
      {"iid2description",
       {"What is the description of the item: {0} ?",
        "Given the item: {0} , generate its description.",
        "Generate the description for the item: {0} .",
        "Can you tell me the description of the item: {0} ?",
        "What's the description for the item: {0} ?",
        "Please generate the description of the item: {0} ?", "Description of the item: {0} ?",
        "Item: {0} , what is its description?",
        "Could you generate the description for the item: {0} ?",
        "Regarding the item: {0} , what is its description?"}},
      {"iid2brand",
       {"What is the brand of the item: {0} ?", "Given the item: {0} , generate its brand.",
        "Generate the brand for the item: {0} .", "Can you tell me the brand of the item: {0} ?",
        "What's the brand for the item: {0} ?", "Please generate the brand of the item: {0} ?",
        "Brand of the item: {0} ?", "Item: {0} , what is its brand?",
        "Could you generate the brand for the item: {0} ?",
        "Regarding the item: {0} , what is its brand?"}},
      {"iid2sim",
       {"What is the most similar item to the item: {0} ?",
        "Given the item: {0} , generate the most similar item title.",
        "Generate the title of the most similar item to the item: {0} .",
        "Can you find an item closely related to this item: {0} ?",
        "What is the closest match to the item: {0} ?",
        "Generate an item with the highest similarity to: {0} .",
        "What item has the greatest resemblance to: {0} ?",
        "What is the nearest item to the given item: {0} ?",
        "What item shares the most similarities with the item: {0} ?"}},
      {"feature2iid",
       {"What is the item represented by the features: {0} ?",
        "Given the features: {0} , generate the item title.",
        "Generate the title of the item represented by the features: {0} .",
        "What item corresponds to the features: {0} ?",
        "Generate the item's name based on the features: {0} .",
        "Generate the title for the item described by the features: {0} .",
        "What item is characterized by the following features: {0} ?",
        "Produce the name of the item associated with the features: {0} .",
        "Link the features: {0} to the corresponding item's title.",
        "Using the features: {0} , generate the item title them represent."}},
      {"description2iid",
       {"What is the item represented by the description: {0} ?",
        "Given the description: {0} , generate the item title.",
        "Generate the title of the item represented by the description: {0} .",
        "What item corresponds to the description: {0} ?",
        "Generate the item's name based on the description: {0} .",
        "Generate the title for the item described by the description: {0} .",
        "What item is characterized by the following description: {0} ?",
        "Produce the name of the item associated with the description: {0} .",
        "Link the description: {0} to the corresponding item's title.",
        "Using the description: {0} , generate the item title it represents."}},
      {"uid2hist",
       {"What are the history titles of the user: {0} ?",
        "Given the user purchase history: {0} , generate his history titles.",
        "Generate the titles of the user history: {0} .",
        "What are the titles associated with user purchase history: {0} ?",
        "Can you list the titles in the purchase history of the user: {0} ?",
        "Show me the history titles for the user: {0} .",
        "Please generate the titles from the user's purchase history: {0} .",
        "List the titles in the purchase history for user: {0} .",
        "What titles can be found in user's purchase history: {0} ?",
        "Generate the titles connected to the purchase history of user: {0} .",
        "Generate the titles related to the user's purchase history: {0} ."}},
      {"uid2next",
       {"Given the user purchase history: {0} , generate the next most likely clicked item title.",
        "What is the next most likely clicked item title for the purchase history: {0} ?",
        "Predict the item that the user with this history: {0} might like next.",
        "Considering the purchasing history: {0} , what will be the next item they click on?",
        "Based on the buying history {0} , what item is the user likely to click on next?",
        "With the given purchase records {0} , can you determine the next item the user will "
        "click?",
        "What item is expected to be clicked next by a user who has this purchase history: {0} ?",
        "Generate the next probable clicked item for a user with the purchase history: {0} .",
        "For a user with the following purchase background: {0} , which item will he most likely "
        "click next?",
        "Can you predict the next item to be clicked by a user who has purchased these items: {0} "
        "?",
        "Given this purchasing data: {0} , what's the next item the user is inclined to click?",
        "From the user's purchase history: {0} , determine the next item he is likely to click on.",
        "Analyze the purchase history: {0} and suggest the next item the user might click."}},
      {"uidiid2rank",
       {"Given the user history: {0} and next items to be ranked: {1} , generate the sorted item "
        "titles from the user's favorite to least favorite.",
        "Considering user: {0} and some items he might like next: {1} , provide a ranking list of "
        "them according to the user preference.",
        "Please rank the following items: {1} from what the user likes to dislikes. Here is the "
        "user history: {0} .",
        "For user with purchase history: {0} , please arrange these items in order of "
        "preference: {1} .",
        "Taking into account user's history: {0} , create a list of the items: {1} ranked by the "
        "user's interests.",
        "With the user's purchase history given: {0} , sort the items: {1} based on the user's "
        "taste from best to worst.",
        "Based on the purchase history: {0} , please provide a ranking of the following items: "
        "{1} according to the user's preferences.",
        "Given user's past history: {0} , rank these items: {1} from most to least appealing.",
        "Using the provided user purchase history: {0} , generate a ranked list of items: {1} in "
        "accordance with the user's likes and dislikes.",
        "Based on the user's past interactions: {0} , rank the items: {1} from the most to the "
        "least preferred.",
        "In reference to user's history: {0} , sort these items: {1} based on their preference "
        "from favorite to least favorite.",
        "Taking user's history: {0} into consideration, arrange the items: {1} in order of the "
        "user's liking.",
        "Given the user's past choices: {0} , create a preference-based ranking of the items: {1} "
        "from the most liked to the least liked."}},
      {"uidiid2binary",
       {"The user has the following purchase history: {0} . Will he like the item: {1} ?",
        "Considering user: {0} and item: {1} , will the user like the item?",
        "Here is the user history: {0} . Do you think he will prefer the item: {1} ?",
        "User's purchase records are: {0} . Can you tell if he will enjoy item: {1} ?",
        "Given the purchase background of the user: {0} , would he appreciate the item: {1} ?",
        "The buyer has this purchase history: {0} . Would he be interested in the product: {1} ?",
        "With the following purchasing history for the user: {0} , can we predict if he'll like "
        "item: {1} ?",
        "Here's the customer's buying log: {0} . Would you say he might favor the item: {1} ?",
        "This is the shopper's past transactions: {0} . Can we determine if he'll be fond of the "
        "item: {1} ?",
        "Looking at the user's previous purchases: {0} , is it likely he'll enjoy the product: "
        "{1} ?",
        "Based on the user's purchase history: {0} , can you assess if he will be attracted to "
        "item: {1} ?",
        "Reviewing the customer's purchase patterns: {0} , is it possible they'll appreciate the "
        "item: {1} ?",
        "Taking into account the user's shopping background: {0} , do you believe they'll be "
        "keen on the product: {1} ?"}},
  };
  return templates;
}

}  // namespace

const std::vector<std::string>& task_templates(const std::string& family) {
  const auto& templates = all_templates();
  const auto found = templates.find(family);
  if (found == templates.end()) throw Error("no alignment task templates named '" + family + "'");
  return found->second;
}

std::vector<std::string> task_template_families() {
  std::vector<std::string> names;
  for (const auto& [name, templates] : all_templates()) names.push_back(name);
  return names;
}

std::string fill_template(const std::string& pattern, const std::vector<std::string>& slots) {
  std::string text;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 2] == '}' &&
        pattern[i + 1] >= '0' && pattern[i + 1] <= '9') {
      const size_t slot = static_cast<size_t>(pattern[i + 1] - '0');
      if (slot >= slots.size())
        throw Error("template slot {" + std::to_string(slot) + "} has no value: " + pattern);
      text += slots[slot];
      i += 2;
    } else {
      text += pattern[i];
    }
  }
  return text;
}

}  // namespace gavamoe
